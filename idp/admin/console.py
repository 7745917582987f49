"""Who is using the console and what they may do: the sign-in hand-off from the ``admin``
realm, the per-request check, role enforcement, error pages and the helpers every page uses."""
from __future__ import annotations

import functools
import time

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..login import flow as login_flow
from ..login.sessions import current_browser_session
from ..models import BrowserSession, utcnow
from ..ratelimit import limit_form_posts
from ..services import NotFound, ServiceError
from ..services.mfa_policy import enabled_factor_kinds
from ..services.realms import ADMIN_REALM, find_realm, list_realms
from ..themes import csp_nonce
from . import admin_bp, console_entry_bp
from .accounts import ROLE_DESCRIPTIONS, ConsoleAdmin, admin_role_of
from .audit_log import install_admin_stamp

SESSION_KEY = "admin_console_sid"
#: A console session older than this (since its password and second factor) logs in again.
REAUTHENTICATE_AFTER = 12 * 3600
PUBLIC_ENDPOINTS = {"admin.static", "admin.signed_out"}
AREA_NAMES = {
    "realms": "realm settings",
    "sms": "SMS integrations",
    "providers": "login providers",
    "api_keys": "API keys",
    "webhooks": "webhooks",
    "organizations": "organizations",
    "roles": "roles",
    "users": "users",
    "clients": "clients",
    "admins": "console roles",
}

limit_form_posts(admin_bp)
limit_form_posts(console_entry_bp)


@admin_bp.record_once
def _install(state):
    install_admin_stamp()


# --- who is signed in -------------------------------------------------------------------------

def _fresh(browser_session) -> bool:
    return time.time() - (browser_session.auth_time or 0) < REAUTHENTICATE_AFTER


def console_admin_from_session() -> ConsoleAdmin | None:
    """The administrator of this request: the admin-realm browser session named in the signed
    Flask session must still be active, fresh, have passed a second factor, and its user must
    still hold a console role."""
    sid = session.get(SESSION_KEY)
    if not isinstance(sid, str) or not sid or len(sid) > 64:
        return None
    row = db.session.scalar(db.select(BrowserSession).filter_by(sid=sid))
    if row is None or not row.is_active() or row.user is None or row.user.disabled:
        return None
    if row.user.realm.name != ADMIN_REALM or "mfa" not in (row.amr or []) or not _fresh(row):
        return None
    role = admin_role_of(row.user)
    return ConsoleAdmin(row.user, role, row) if role else None


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value \
            and len(value) <= 2000:
        return value
    return url_for("admin.dashboard")


@admin_bp.url_value_preprocessor
def _take_realm_name(endpoint, values):
    g.managed_realm_name = values.pop("realm_name", None) if values else None


@admin_bp.url_defaults
def _add_realm_name(endpoint, values):
    realm = g.get("managed_realm")
    if realm is not None and "realm_name" not in values and \
            current_app.url_map.is_endpoint_expecting(endpoint, "realm_name"):
        values["realm_name"] = realm.name


@admin_bp.before_request
def require_console_admin():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if any("\x00" in value for source in (request.args, request.form) for _, values in source.lists()
           for value in values):
        abort(400, description="Text must not contain NUL characters.")
    admin = console_admin_from_session()
    if admin is None:
        session.pop(SESSION_KEY, None)
        target = request.full_path.rstrip("?") if request.method == "GET" else url_for("admin.dashboard")
        return redirect(url_for("admin_entry.enter", next=target), 303)
    g.console_admin = admin
    g.console_admin_email = admin.email
    name = g.get("managed_realm_name")
    if name is not None:
        realm = find_realm(name) if len(name) <= 64 else None
        if realm is None:
            abort(404, description=f"There is no realm named '{name[:64]}'.")
        g.managed_realm = realm
    return None


@admin_bp.after_request
def _no_store(response):
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


@console_entry_bp.get("")
def enter():
    """The end of an administrator's login in the ``admin`` realm (and its start: without a
    session that passed a second factor, the hosted login begins here and returns here)."""
    realm = find_realm(ADMIN_REALM)
    if realm is None:
        abort(404, description="This instance has no admin realm yet: run 'idp db upgrade'.")
    g.realm = realm
    next_url = _safe_next(request.args.get("next"))
    return_to = url_for("admin_entry.enter", next=next_url)
    browser_session = current_browser_session(realm)
    if browser_session is None or not _fresh(browser_session):
        return login_flow.begin_login(realm, None, {}, browser_session=None, return_to=return_to)
    if "mfa" not in (browser_session.amr or []):
        if not realm.mfa_enabled or not enabled_factor_kinds(realm):
            return console_error(503, "The console cannot be opened",
                                 "The admin realm must ask for a second factor. Turn it back on with "
                                 "'idp realms set admin --mfa on --totp on'.")
        return login_flow.begin_login(realm, None, {}, browser_session=browser_session, return_to=return_to,
                                      step_up_mfa=True)
    if admin_role_of(browser_session.user) is None:
        return console_error(403, "Not an administrator",
                             f"{browser_session.user.email} has no role in the admin console.")
    session[SESSION_KEY] = browser_session.sid
    return redirect(next_url)


@admin_bp.post("/logout")
def logout():
    g.console_admin.browser_session.revoked_at = utcnow()
    db.session.commit()
    session.pop(SESSION_KEY, None)
    return redirect(url_for("admin.signed_out"), 303)


logout.console_area = None


@admin_bp.get("/signed-out")
def signed_out():
    return render("signed_out.html", page_title="Signed out")


# --- roles ------------------------------------------------------------------------------------

def requires(area: str):
    """Refuse (403) a change the administrator's role does not allow in the managed realm.
    The area is kept on the view (``console_area``) so a test can check every POST route."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            admin = g.console_admin
            realm = g.get("managed_realm")
            if not admin.may(area, realm):
                where = " of the admin realm" if realm is not None and realm.name == ADMIN_REALM else ""
                abort(403, description=f"Your role ({admin.role}) cannot change {AREA_NAMES[area]}{where}.")
            return view(*args, **kwargs)

        wrapper.console_area = area
        return wrapper

    return decorator


# --- pages ------------------------------------------------------------------------------------

@admin_bp.context_processor
def _console_context():
    admin = g.get("console_admin")
    realm = g.get("managed_realm")
    return {
        "console_admin": admin,
        "managed_realm": realm,
        "nav_realms": list_realms() if admin else [],
        "role_descriptions": ROLE_DESCRIPTIONS,
        "may": (lambda area, target=realm: admin is not None and admin.may(area, target)),
        "csp_nonce": csp_nonce(),
        "ADMIN_REALM": ADMIN_REALM,
    }


def render(template: str, status: int = 200, **context):
    context.setdefault("page_title", "")
    return render_template(f"admin/{template}", **context), status


def console_error(status: int, title: str, description: str):
    return render("error.html", status=status, page_title=title, error_title=title, error_description=description)


@admin_bp.errorhandler(NotFound)
def _not_found(error):
    db.session.rollback()
    return console_error(404, "Not found", error.message)


@admin_bp.errorhandler(CSRFError)
@console_entry_bp.errorhandler(CSRFError)
def _csrf_error(error):
    return console_error(400, "Your form expired",
                         "The page was open too long or cookies are blocked. Go back, reload the page and try again.")


@admin_bp.errorhandler(HTTPException)
@console_entry_bp.errorhandler(HTTPException)
def _http_error(error):
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
              413: "Request too large", 429: "Too many requests"}
    return console_error(error.code or 500, titles.get(error.code, error.name), error.description or error.name)


def field_error(form, error: ServiceError, aliases: dict | None = None) -> None:
    """Show a service's refusal on the form field it names (or above the form)."""
    name = (aliases or {}).get(error.field, error.field)
    field = form._fields.get(name) if name else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def apply_change(form, change, *, aliases: dict | None = None) -> bool:
    """Run ``change`` and commit; on a ``ServiceError`` roll everything back (no half-written
    record) and put the message on the form. ``NotFound`` goes on to the 404 page."""
    try:
        change()
        db.session.commit()
    except NotFound:
        db.session.rollback()
        raise
    except ServiceError as error:
        db.session.rollback()
        field_error(form, error, aliases)
        return False
    return True


def done(message: str, endpoint: str, **values):
    flash(message, "success")
    return redirect(url_for(endpoint, **values), 303)


def managed_realm():
    realm = g.get("managed_realm")
    if realm is None:
        abort(404)
    return realm


MAX_OFFSET = 1_000_000


def page_offset() -> int:
    """The ``offset`` query parameter of a paged list: a whole number, 0 when absent or bad."""
    text = request.args.get("offset", "")
    return min(int(text), MAX_OFFSET) if text.isdigit() and len(text) <= 7 else 0
