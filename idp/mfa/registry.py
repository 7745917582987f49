"""The factors this installation offers, built once in ``create_app`` from ``[mfa] factors``.

Each entry names a package ``idp.mfa.<kind>`` whose ``FACTOR`` is its ``base.Factor``. The
configured order is the order a login prefers them in. Adding a factor is its folder plus its
name in that list."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

from flask import current_app
from jinja2 import FileSystemLoader, PrefixLoader

from ..config import ConfigError
from .base import Factor

KIND = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


class FactorRegistry:
    def __init__(self, kinds: list[str]):
        self._factors: dict[str, Factor] = {}
        self._folders: dict[str, Path] = {}
        for kind in kinds:
            if not KIND.match(kind) or kind in self._factors:
                raise ConfigError(f"mfa.factors: '{kind}' is not a factor name (or is listed twice)")
            try:
                module = importlib.import_module(f"idp.mfa.{kind}")
            except ModuleNotFoundError:
                raise ConfigError(f"mfa.factors: there is no factor '{kind}' (no package idp.mfa.{kind})") from None
            factor = getattr(module, "FACTOR", None)
            if not isinstance(factor, Factor) or factor.kind != kind:
                raise ConfigError(f"mfa.factors: idp.mfa.{kind} does not define FACTOR for '{kind}'")
            self._factors[kind] = factor
            self._folders[kind] = Path(module.__file__).resolve().parent

    def get(self, kind: str | None) -> Factor | None:
        return self._factors.get(kind or "")

    def all(self) -> list[Factor]:
        return list(self._factors.values())

    def kinds(self, *, include_backup: bool = True) -> list[str]:
        return [f.kind for f in self._factors.values() if include_backup or not f.backup]

    def static_folder(self, kind: str) -> str | None:
        folder = self._folders.get(kind)
        return str(folder / "static") if folder is not None and (folder / "static").is_dir() else None

    def translation_directories(self) -> list[str]:
        """Each factor folder's own gettext catalogs (``idp/mfa/<kind>/translations/``), if any."""
        return [str(folder / "translations") for folder in self._folders.values() if (folder / "translations").is_dir()]

    def template_loader(self) -> PrefixLoader:
        """``mfa/<kind>/<name>.html`` from each factor's ``templates/`` folder."""
        return PrefixLoader({"mfa": PrefixLoader({kind: FileSystemLoader(str(folder / "templates"))
                                                  for kind, folder in self._folders.items()})})


def init_app(app, settings) -> None:
    app.extensions["idp.mfa_factors"] = FactorRegistry(list(settings.mfa.factors))


def registry() -> FactorRegistry:
    return current_app.extensions["idp.mfa_factors"]


def get_factor(kind: str | None) -> Factor | None:
    return registry().get(kind)


def all_factors() -> list[Factor]:
    return registry().all()
