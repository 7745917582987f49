"""Hosted-page themes: ``<name>/`` folders with ``theme.toml``, templates and static files.

Themes are looked up by name in the operator's folder (``[themes] dir``, ``IDP_THEMES_DIR``)
first, then among the built-in ones that come with the package (``idp.package_data``). A theme
may extend another; every lookup falls back to the default theme."""
from __future__ import annotations

import secrets
import tomllib
from functools import lru_cache
from pathlib import Path

from flask import current_app, g, has_app_context, url_for
from jinja2 import ChoiceLoader, FileSystemLoader

from .i18n import current_locale
from .package_data import builtin_themes_folder

DEFAULT_THEME = "default"


def theme_folders() -> list[Path]:
    """Where themes are looked up, first match wins: the operator's folder, then the built-in
    themes. A relative ``[themes] dir`` is relative to the instance folder."""
    folders = []
    if has_app_context():
        configured = current_app.extensions["idp.settings"].themes.dir
        if configured:
            folders.append(Path(current_app.instance_path) / configured)
    folders.append(builtin_themes_folder())
    return folders


def theme_folder(name: str) -> Path | None:
    """The folder of theme ``name``, or None when there is no such theme."""
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        return None
    for folder in theme_folders():
        if (folder / name / "theme.toml").is_file():
            return folder / name
    return None


def theme_exists(name: str) -> bool:
    return theme_folder(name) is not None


def theme_names() -> list[str]:
    """Every theme that can be chosen, sorted."""
    names = {path.name for folder in theme_folders() if folder.is_dir() for path in folder.iterdir()}
    return sorted(name for name in names if theme_exists(name))


@lru_cache(maxsize=64)
def _manifest(path: Path, _modified: float) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def theme_manifest(name: str) -> dict:
    """The theme's ``theme.toml`` (``display_name``, ``extends``); read again when it changes."""
    folder = theme_folder(name)
    if folder is None:
        return {}
    path = folder / "theme.toml"
    return _manifest(path, path.stat().st_mtime)


def theme_chain(name: str) -> list[str]:
    """The theme, the themes it extends, and finally the default theme."""
    chain: list[str] = []
    current = name if theme_exists(name) else DEFAULT_THEME
    while current and current not in chain:
        chain.append(current)
        current = theme_manifest(current).get("extends") or ""
        if current and not theme_exists(current):
            break
    if DEFAULT_THEME not in chain:
        chain.append(DEFAULT_THEME)
    return chain


def _environment(name: str):
    envs = current_app.extensions.setdefault("idp.theme_envs", {})
    env = envs.get(name)
    if env is None:
        loaders = [FileSystemLoader(str(theme_folder(t) / "templates")) for t in theme_chain(name)]
        # a factor's partials (``mfa/<kind>/verify.html``) come from its folder unless a theme has its own
        loaders.append(current_app.extensions["idp.mfa_factors"].template_loader())
        env = current_app.jinja_env.overlay(loader=ChoiceLoader(loaders))
        envs[name] = env
    return env


def static_file_theme(name: str, filename: str) -> Path | None:
    for theme in theme_chain(name):
        root = (theme_folder(theme) / "static").resolve()
        path = (root / filename).resolve()
        if root in path.parents and path.is_file():
            return path
    return None


def theme_setting(name: str, key: str) -> str:
    """A ``theme.toml`` value (``logo``, ``favicon``) from the theme or, where it leaves it
    empty, from the theme it extends; "" when none sets it."""
    for theme in theme_chain(name):
        value = theme_manifest(theme).get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def theme_file_url(name: str, key: str) -> str | None:
    """The URL of the static file a theme names under ``key``, if the file exists."""
    filename = _theme_file(name, key)
    return url_for("themes.static", theme=name, filename=filename) if filename else None


def _page_asset_files(theme: str) -> tuple[str | None, str | None]:
    """The theme's logo and favicon files (names under ``static/``), as every hosted page
    shows them.

    Finding them reads ``theme.toml`` and looks for the files along the theme's chain, a few
    dozen file-system calls per page. They are kept for as long as the theme's compiled
    templates are (``_environment``, for the life of the app), unless templates reload when
    they change (``TEMPLATES_AUTO_RELOAD``, debug): then they are found again for every page."""
    if current_app.jinja_env.auto_reload:
        return _theme_file(theme, "logo"), _theme_file(theme, "favicon")
    files = current_app.extensions.setdefault("idp.theme_page_files", {})
    found = files.get(theme)
    if found is None:
        found = files[theme] = (_theme_file(theme, "logo"), _theme_file(theme, "favicon"))
    return found


def _theme_file(name: str, key: str) -> str | None:
    filename = theme_setting(name, key)
    return filename if filename and static_file_theme(name, filename) is not None else None


def active_theme(realm=None, client=None) -> str:
    if client is not None and getattr(client, "theme", None):
        return client.theme
    if realm is not None and realm.theme:
        return realm.theme
    return DEFAULT_THEME


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def render_page(template: str, *, realm=None, client=None, status: int = 200, **context):
    """Render a hosted page with the realm's (or the client's) theme."""
    theme = active_theme(realm, client)
    g.auth_page = True

    def theme_static(filename: str) -> str:
        return url_for("themes.static", theme=theme, filename=filename)

    logo, favicon = _page_asset_files(theme)
    context.setdefault("page_title", "")
    context.setdefault("flash_messages", [])
    context.update(
        realm=realm,
        client=client,
        status=status,
        theme_static=theme_static,
        theme_logo_url=theme_static(logo) if logo else None,
        favicon_url=theme_static(favicon) if favicon else None,
        csp_nonce=csp_nonce(),
        lang=current_locale(),
    )
    current_app.update_template_context(context)
    body = _environment(theme).get_template(template).render(context)
    return body, status


def render_theme_template(template: str, *, theme: str = DEFAULT_THEME, **context) -> str:
    """Render one of the theme's templates outside a page (mail). ``.html`` templates are
    autoescaped, ``.txt`` ones are not; needs only an app context."""
    return _environment(theme).get_template(template).render(context)


def register_theme_routes(app) -> None:
    from flask import Blueprint, abort, send_file

    bp = Blueprint("themes", __name__)

    @bp.get("/themes/<theme>/static/<path:filename>")
    def static(theme, filename):
        if not theme_exists(theme):
            abort(404)
        path = static_file_theme(theme, filename)
        if path is None:
            abort(404)
        return send_file(path, max_age=3600)

    @bp.get("/favicon.ico")
    def favicon():
        """For pages without a ``<link rel="icon">`` (JSON, the console's error pages) and
        clients that ask anyway: the default theme's icon, so the browser logs no 404."""
        filename = theme_setting(DEFAULT_THEME, "favicon")
        path = static_file_theme(DEFAULT_THEME, filename) if filename else None
        if path is None:
            abort(404)
        return send_file(path, max_age=86400)

    app.register_blueprint(bp)

