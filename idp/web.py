"""Cross-cutting web behaviour: realm lookup, security headers, error pages."""
from __future__ import annotations

import math

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from flask import abort, g, jsonify, make_response, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from .i18n import _, ngettext
from .ratelimit import LoginTransactionLimitExceeded
from .services.realms import find_realm

JSON_ENDPOINTS = {"oidc.token", "oidc.userinfo", "oidc.jwks", "oidc.discovery", "oidc.revoke", "oidc.introspect"}
JSON_PATH_SUFFIXES = ("/token", "/userinfo", "/jwks", "/revoke", "/introspect", "/openid-configuration")


def load_realm(endpoint, values):
    """url_value_preprocessor for realm blueprints: ``realm_name`` -> ``g.realm`` or 404."""
    if values is None or "realm_name" not in values:
        return
    name = values.pop("realm_name")
    realm = find_realm(name) if isinstance(name, str) and len(name) <= 64 else None
    if realm is None:
        g.realm = None
        abort(404, description=_("There is no realm named '%(name)s'.", name=name))
    g.realm = realm


def add_realm_name(endpoint, values):
    if "realm_name" not in values and g.get("realm") is not None:
        values["realm_name"] = g.realm.name


def wants_json() -> bool:
    """Machine endpoints answer errors in JSON; pages answer with a themed error page. The path
    is checked too, for requests that failed before an endpoint was matched (unknown realm)."""
    return (
        request.endpoint in JSON_ENDPOINTS
        or request.path.startswith("/api/")
        or request.path.endswith(JSON_PATH_SUFFIXES)
    )


def security_headers(response):
    from .themes import csp_nonce

    nonce = csp_nonce()
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self' http: https:",
    )
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if (g.get("auth_page") or request.blueprint in ("oidc", "login", "mfa", "account")) and \
            not response.cache_control.public:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    realm = g.get("realm")
    if realm is not None:
        from .login.sessions import apply_session_cookie

        apply_session_cookie(response, realm)
    return response


def render_error(status: int, title: str, description: str, *, retry_url: str | None = None, client=None):
    """The error page (JSON for API callers). ``client``: the app the request came from, when it
    is known; its registered home page (``home_uri``) is then offered as the way back. Nothing
    from the request itself becomes a link."""
    from .themes import render_page

    if wants_json():
        error = {400: "invalid_request", 401: "invalid_token", 404: "not_found", 405: "method_not_allowed",
                 413: "request_too_large", 429: "too_many_requests", 503: "temporarily_unavailable"}.get(
            status, "server_error" if status >= 500 else "invalid_request")
        response = jsonify(error=error, error_description=description)
        response.status_code = status
        return response
    body, status = render_page(
        "error.html",
        realm=g.get("realm"),
        status=status,
        page_title=title,
        error_title=title,
        error_description=description,
        retry_url=retry_url,
        client=client,
        home_url=getattr(client, "home_uri", None) or None,
    )
    return body, status


def has_stock_description(error: HTTPException) -> bool:
    """Whether the error still says what its library wrote: Werkzeug's class description (an
    ``abort(404)`` without one of ours) or Flask-Limiter's statement of the limit it enforced
    ("3 per 1 minute"). Those are English and meant for developers; the descriptions our views
    pass to ``abort`` are already in the page's language."""
    return isinstance(error, RateLimitExceeded) or error.description == type(error).description


def page_error_description(status: int) -> str:
    """What the themed error page says for an HTTP error that has no description of ours."""
    descriptions = {
        400: _("Your browser sent a request that this page could not understand."),
        403: _("You do not have access to this page."),
        404: _("The address may be mistyped, or the page no longer exists. If you typed it, check the spelling."),
        405: _("This page does not accept that kind of request."),
        413: _("The form or file you sent is too large."),
        429: _("You sent too many requests in a short time. Wait a moment, then try again."),
    }
    if status in descriptions:
        return descriptions[status]
    if status >= 500:
        return _("An unexpected error occurred. Please try again.")
    return _("This page could not answer your request.")


class TemporarilyUnavailable(Exception):
    def __init__(self, original: Exception):
        super().__init__(str(original))
        self.original = original


def is_backend_outage(error: Exception) -> bool:
    """Database or Redis unreachable (as opposed to a bug): answered with 503 and Retry-After."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated):
        return True
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover
        return False
    from limits.errors import StorageError

    return isinstance(error, (RedisConnectionError, RedisTimeoutError, StorageError))


#: Endpoints that check every parameter they read themselves, each answering a bad one the way
#: its protocol says (``/authorize`` sends ``invalid_request`` back to a validated client).
VALIDATES_OWN_PARAMETERS = frozenset({"oidc.authorize", "social.callback", "social.finish"})


def holds_nul_byte() -> bool:
    """Whether the request's path, credentials, query or form hold a NUL character. No value we
    accept has one, and PostgreSQL refuses it in any text it is asked to compare (a 500). The
    management API's JSON bodies are checked by its own parameter parsing (and its body must
    not be read here as a form)."""
    auth = request.authorization
    credentials = [auth.username, auth.password, auth.token] if auth is not None else []
    if "\x00" in request.path or "\x00" in (request.headers.get("Authorization") or "") or \
            any("\x00" in (value or "") for value in credentials):
        return True
    if request.endpoint in VALIDATES_OWN_PARAMETERS:
        return False
    sources = [request.args]
    if not request.path.startswith("/api/") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    return any("\x00" in value for source in sources for _, values in source.lists() for value in values)


def init_app(app) -> None:
    app.after_request(security_headers)

    @app.url_value_preprocessor
    def refuse_nul_bytes(endpoint, values):
        """Before any blueprint looks a value up (the realm in the path first)."""
        if holds_nul_byte():
            abort(400, description=_("Text must not contain NUL characters."))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            _("Your form expired"),
            _("The page was open too long or cookies are blocked. Go back, reload the page and try again."),
        )

    @app.errorhandler(SecurityError)
    def untrusted_host(error):
        """A request naming a host that is not the public URL's (``idp.public_address``). No
        page of ours is drawn for it: every link on it would be built on that host (and cannot
        be, Flask refused it), and nothing about the host is echoed. The health check still
        answers: load balancers and container probes name the server by its own address."""
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            return healthz()
        description = "This server does not answer to the host name the request named."
        if wants_json():
            return jsonify(error="invalid_request", error_description=description), 400
        return app.response_class(f"400 Bad Request: {description}\n", status=400, mimetype="text/plain")

    @app.errorhandler(InsecureTransportError)
    def insecure_transport(error):
        """Authlib refuses OAuth over plain HTTP off loopback (RFC 6749 §3.1.2.1, §10.9), which
        happens when the public URL is ``http://`` on a real host: its own answer, not a 500."""
        from .extensions import db

        db.session.rollback()
        status, body, headers = error()
        if wants_json() or request.method == "POST":
            return make_response(jsonify(dict(body)), status, headers)
        return render_error(status, _("Bad request"), error.description)

    @app.errorhandler(HTTPException)
    def http_error(error):
        status = error.code or 500
        titles = {404: _("Page not found"), 405: _("Not allowed"), 400: _("Bad request"), 413: _("Request too large"),
                  429: _("Too many requests"), 403: _("Forbidden")}
        description = error.description or error.name
        if not wants_json() and has_stock_description(error):
            description = page_error_description(status)
        return render_error(status, titles.get(error.code, error.name), description)

    @app.errorhandler(LoginTransactionLimitExceeded)
    def too_many_logins(error):
        minutes = max(1, math.ceil(error.retry_after / 60))
        response = make_response(render_error(
            429, _("Too many requests"),
            ngettext("Too many logins were started from your network. Wait %(num)d minute, then try again.",
                     "Too many logins were started from your network. Wait %(num)d minutes, then try again.",
                     minutes)))
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.get("/healthz")
    def healthz():
        """For load balancers: the database answers and its schema is current."""
        from .database import schema_is_current

        try:
            current = schema_is_current()
        except Exception:  # noqa: BLE001 - any failure to reach the database is "unhealthy"
            app.logger.warning("health check: database unreachable", exc_info=True)
            return jsonify(status="unavailable", database="unreachable"), 503
        if not current:
            return jsonify(status="unavailable", database="migrations pending"), 503
        return jsonify(status="ok", database="ok")

    @app.errorhandler(TemporarilyUnavailable)
    def backend_unavailable(error):
        from .extensions import db

        db.session.rollback()
        app.logger.warning("backend unavailable: %s", type(error.original).__name__)
        response = make_response(render_error(
            503, _("Temporarily unavailable"),
            _("We could not reach our database. Nothing was changed: try again in a few seconds.")))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error):
        from .extensions import db

        if is_backend_outage(error):
            return backend_unavailable(TemporarilyUnavailable(error))
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(500, _("Something went wrong"), _("An unexpected error occurred. Please try again."))
