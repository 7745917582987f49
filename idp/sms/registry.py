"""The SMS providers this installation offers, built once in ``create_app`` from ``[sms] providers``.

Each entry names a package ``idp.sms.<kind>`` whose ``PROVIDER`` is its ``base.ProviderSpec``.
Adding a provider is its folder plus its name in that list. The CLI is declared before any
configuration is read (and without importing Flask, so that ``idp --help`` answers at once),
so ``shipped_providers`` (every folder here) gives its options; an
integration of a kind this installation does not offer is refused when added and cannot send."""
from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from ..config import ConfigError
from .base import ProviderField, ProviderSpec, SenderContext

KIND = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
#: Names the surfaces use themselves; a provider field may not take them.
RESERVED_FIELDS = frozenset({"id", "kind", "name", "active", "created_at", "realm", "json"})


def load_provider(kind: str) -> ProviderSpec:
    if not KIND.match(kind):
        raise ConfigError(f"sms.providers: '{kind}' is not a provider name")
    try:
        module = importlib.import_module(f"idp.sms.{kind}")
    except ModuleNotFoundError:
        raise ConfigError(f"sms.providers: there is no SMS provider '{kind}' (no package idp.sms.{kind})") from None
    spec = getattr(module, "PROVIDER", None)
    if not isinstance(spec, ProviderSpec) or spec.kind != kind:
        raise ConfigError(f"sms.providers: idp.sms.{kind} does not define PROVIDER for '{kind}'")
    return spec


def check_fields(specs: list[ProviderSpec]) -> None:
    """Field names are one namespace (CLI options, API fields, form controls): no name twice,
    none of the surfaces' own names, at most one secret per provider."""
    owners: dict[str, str] = {}
    for spec in specs:
        if sum(f.secret for f in spec.fields) > 1:
            raise ConfigError(f"SMS provider '{spec.kind}' has more than one secret field")
        for spec_field in spec.fields:
            if spec_field.name in RESERVED_FIELDS or spec_field.name in owners:
                raise ConfigError(f"SMS provider '{spec.kind}': field name '{spec_field.name}' is already used "
                                  f"by {owners.get(spec_field.name, 'the integration itself')}")
            owners[spec_field.name] = spec.kind


def shipped_providers() -> list[ProviderSpec]:
    """Every provider folder of ``idp.sms``, configured or not, in name order."""
    folder = Path(__file__).resolve().parent
    kinds = sorted(info.name for info in pkgutil.iter_modules([str(folder)]) if info.ispkg)
    specs = [load_provider(kind) for kind in kinds]
    check_fields(specs)
    return specs


def all_fields(specs: list[ProviderSpec]) -> list[tuple[ProviderSpec, ProviderField]]:
    return [(spec, spec_field) for spec in specs for spec_field in spec.fields]


class ProviderRegistry:
    def __init__(self, kinds: list[str]):
        self._providers: dict[str, ProviderSpec] = {}
        for kind in kinds:
            if kind in self._providers:
                raise ConfigError(f"sms.providers: '{kind}' is listed twice")
            self._providers[kind] = load_provider(kind)
        check_fields(self.all())

    def get(self, kind: str | None) -> ProviderSpec | None:
        return self._providers.get(kind or "")

    def all(self) -> list[ProviderSpec]:
        return list(self._providers.values())

    def kinds(self) -> list[str]:
        return list(self._providers)


def init_app(app, settings) -> None:
    app.extensions["idp.sms_providers"] = ProviderRegistry(list(settings.sms.providers))


def registry() -> ProviderRegistry:
    from flask import current_app

    return current_app.extensions["idp.sms_providers"]


def sender_context(kind: str, http_client=None) -> SenderContext:
    from flask import current_app

    return SenderContext(settings=current_app.extensions["idp.settings"], instance_path=Path(current_app.instance_path),
                         http_client=http_client or current_app.extensions.get(f"idp.{kind}_http_client"))
