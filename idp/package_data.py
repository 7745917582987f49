"""Where the built-in migrations and themes are.

The repository keeps them in its top-level ``migrations/`` and ``themes/``; a wheel carries them
inside the package as ``idp/bundled/…`` (setup.py). The installed copy wins, so that a
``migrations`` or ``themes`` folder some other distribution put beside the package is never
mistaken for ours; a checkout and an editable install have only the top-level folders."""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def bundled_folder(name: str) -> Path:
    installed = PACKAGE / "bundled" / name
    return installed if installed.is_dir() else PACKAGE.parent / name


def migrations_folder() -> Path:
    """The Alembic script directory (``env.py``, ``versions/``)."""
    return bundled_folder("migrations")


def builtin_themes_folder() -> Path:
    """The themes that come with idp (``default``, ``forest``)."""
    return bundled_folder("themes")
