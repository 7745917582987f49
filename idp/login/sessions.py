"""Browser sessions for single sign-on: server-side rows, an opaque random cookie per realm."""
from __future__ import annotations

import datetime as dt
import uuid

from flask import current_app, g, request

from ..extensions import db
from ..models import BrowserSession, utcnow
from ..security import keyed_digest, random_token

SESSION_COOKIE = "idp_session"


def _settings():
    return current_app.extensions["idp.settings"]


def realm_cookie_path(realm) -> str:
    return f"/realms/{realm.name}/"


#: A browser session by its cookie's digest, unique across realms: the realm is compared on the
#: row, never in the statement (why: ``idp.oidc.tokens.in_realm``).
SESSION_BY_COOKIE_DIGEST = db.select(BrowserSession).where(BrowserSession.cookie_digest == db.bindparam("digest"))


def current_browser_session(realm) -> BrowserSession | None:
    cached = g.get("browser_session", False)
    if cached is not False:
        return cached
    value = request.cookies.get(SESSION_COOKIE)
    row = None
    if value:
        row = db.session.scalar(SESSION_BY_COOKIE_DIGEST, {"digest": keyed_digest(value)})
        if row is not None and row.realm_id != realm.id:
            row = None
        if row is not None and (not row.is_active() or row.user is None or row.user.disabled):
            row = None
    g.browser_session = row
    return row


def start_browser_session(realm, user, *, auth_time: int, amr: list[str], acr: str,
                          mfa_at: int | None = None) -> BrowserSession:
    """A new session (new id: no fixation); the previous one of this browser ends."""
    previous = current_browser_session(realm)
    if previous is not None:
        previous.revoked_at = utcnow()
    value = random_token(32)
    row = BrowserSession(
        cookie_digest=keyed_digest(value),
        sid=uuid.uuid4().hex,
        realm_id=realm.id,
        user_id=user.id,
        auth_time=auth_time,
        amr=amr,
        acr=acr,
        mfa_at=mfa_at,
        expires_at=utcnow() + dt.timedelta(seconds=_settings().login.session_lifetime),
        ip_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:400],
    )
    db.session.add(row)
    g.browser_session = row
    g.set_session_cookie = value
    return row


def end_browser_session(realm) -> None:
    row = current_browser_session(realm)
    if row is not None:
        row.revoked_at = utcnow()
        row.pending = None
        db.session.commit()
    g.browser_session = None
    g.clear_session_cookie = True


def apply_session_cookie(response, realm):
    """Called after the request: write or clear the session cookie the request decided on."""
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    if g.get("set_session_cookie"):
        path = realm_cookie_path(realm)
        response.set_cookie(
            SESSION_COOKIE,
            g.set_session_cookie,
            max_age=_settings().login.session_lifetime,
            path=path,
            httponly=True,
            secure=secure,
            samesite="Lax",
        )
    elif g.get("clear_session_cookie"):
        response.delete_cookie(SESSION_COOKIE, path=realm_cookie_path(realm), httponly=True, secure=secure, samesite="Lax")
    return response
