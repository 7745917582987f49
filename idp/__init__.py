"""idp: an OpenID Connect identity provider with hosted login pages and a real MFA step."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app", "ConfigError"]


def instance_folder(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get("IDP_INSTANCE") or "instance").resolve()


def _instance_secrets(folder: Path) -> dict:
    """Secrets generated once per instance folder; production sets them in config instead so
    that every worker and machine shares them. An exclusive lock makes workers that start
    together on an empty folder agree on one set."""
    import fcntl

    from .security import new_encryption_key, random_token

    path = folder / "secrets.json"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".secrets.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.exists() else {}
        changed = False
        for name, make in (
            ("secret_key", lambda: random_token(32)),
            ("encryption_key", new_encryption_key),
            ("token_hash_key", lambda: random_token(32)),
        ):
            if not data.get(name):
                data[name] = make()
                changed = True
        if changed:
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(data, indent=2))
            tmp.replace(path)
    return data


def create_app(
    instance_path: str | os.PathLike | None = None,
    *,
    settings: Settings | None = None,
    config_path: str | os.PathLike | None = None,
    test_config: dict | None = None,
) -> Flask:
    """The only wiring place: settings, extensions, blueprints, CLI. Flask and everything else
    are imported here, not when ``idp`` is, so that ``idp --help`` stays quick."""
    folder = instance_folder(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    if settings is None:
        settings = load_settings(config_path or os.environ.get("IDP_CONFIG") or None)

    from .public_address import check_public_url, trusted_hosts

    settings.server.public_url = public_url = check_public_url(settings.server.public_url)
    from flask import Flask

    from .routing import LazilyBuiltRule

    app = Flask(__name__, instance_path=str(folder), instance_relative_config=False)
    app.url_rule_class = LazilyBuiltRule
    secrets_file = _instance_secrets(folder)
    app.config.update(
        SECRET_KEY=settings.server.secret_key or secrets_file["secret_key"],
        IDP_ENCRYPTION_KEY=settings.security.encryption_key or secrets_file["encryption_key"],
        IDP_TOKEN_HASH_KEY=settings.security.token_hash_key or secrets_file["token_hash_key"],
        SQLALCHEMY_DATABASE_URI=settings.database.url or f"sqlite:///{folder / 'idp.sqlite3'}",
        # No pre-ping: it costs a round trip on every request. After a database restart the
        # first request on a dead pooled connection gets the 503 page (web.py), and SQLAlchemy
        # then replaces the whole pool.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False},
        SESSION_COOKIE_NAME="idp_csrf",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=public_url.startswith("https://"),
        # a request naming another host is a 400: links and the issuer never follow a Host header
        TRUSTED_HOSTS=trusted_hosts(public_url),
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=True,
        MAX_CONTENT_LENGTH=1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["idp.settings"] = settings

    from .database import configure_engine
    from .extensions import csrf, db

    db.init_app(app)
    csrf.init_app(app)
    from . import i18n
    from .mfa import registry as mfa_registry

    mfa_registry.init_app(app, settings)
    from .sms import registry as sms_registry

    sms_registry.init_app(app, settings)
    # a factor's folder may carry its own catalogs; Flask-Babel merges them in this order, later
    # ones winning, so the main catalog comes last: a factor cannot change the words of a page
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", ";".join(
        [*app.extensions["idp.mfa_factors"].translation_directories(), str(i18n.TRANSLATIONS_DIR)]))
    i18n.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    from .services import lookup_cache

    lookup_cache.init_app(app, settings)

    from .oidc.metadata import serve_cached_documents

    serve_cached_documents(app)
    from .oidc.express import serve_express_lanes

    serve_express_lanes(app)
    if settings.server.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.server.trusted_proxies
        # No X-Forwarded-Prefix: the documented proxies do not set it, so a client's own header
        # would pass through them and move every URL idp builds.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    from .ratelimit import init_limiter

    init_limiter(app, settings)

    from . import maintenance

    maintenance.init_app(app, settings)

    from . import mail

    mail.init_app(app, settings)

    from . import consent, lifecycle, login, mfa, organizations, webhooks
    login.init_app(app)
    mfa.init_app(app)
    lifecycle.init_app(app)
    consent.init_app(app)
    organizations.init_app(app)
    webhooks.init_app(app, settings)
    from . import social

    social.init_app(app)

    from .oidc.server import init_authorization_server

    init_authorization_server(app)

    from . import web
    from .account.views import account_bp
    from .admin import admin_bp, console_entry_bp
    from .api import api_bp
    from .demo import demo_bp
    from .lifecycle.views import lifecycle_bp
    from .consent.views import consent_bp
    from .login.views import login_bp
    from .mfa.views import mfa_bp
    from .oidc.metadata import metadata_bp
    from .oidc.views import oidc_bp
    from .social.views import social_bp
    from .themes import register_theme_routes

    web.init_app(app)
    register_theme_routes(app)
    app.register_blueprint(metadata_bp)
    app.register_blueprint(oidc_bp)
    app.register_blueprint(social_bp)
    app.register_blueprint(login_bp)
    app.register_blueprint(consent_bp)
    app.register_blueprint(mfa_bp)
    app.register_blueprint(lifecycle_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(demo_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(console_entry_bp)
    from . import scim

    scim.init_app(app)

    from .login.stages import StageOrderError, order_stages, parse_stage_order

    try:
        from .config import LoginSettings

        order_stages(app, parse_stage_order(settings.login.stage_order),
                     default=parse_stage_order(LoginSettings().stage_order))
    except StageOrderError as error:
        raise ConfigError(f"login.stage_order: {error}") from None
    return app
