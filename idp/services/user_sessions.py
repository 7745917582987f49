"""A user's browser sessions (single sign-on) as administrators and support staff see and end
them: the API (``/users/{id}/sessions``) and the console's user page call these.

A session is known by its ``sid`` (the public id in the ID tokens it issued), never by its
cookie. Ending a session logs that browser out at its next request and revokes the tokens issued
in it, as a logout should: an app that still holds a refresh token from that browser loses it.
Ending all of them also cancels the logins under way and revokes every token the user's apps
hold. The caller commits."""
from __future__ import annotations

from ..extensions import db
from ..models import BrowserSession, IssuedToken, utcnow
from . import NotFound
from .audit import record_event
from .sign_out import cancel_logins_under_way, end_browser_sessions, revoke_tokens_where, revoke_user_tokens

#: The longest list a page or an answer shows; a user rarely has more than a handful.
MAX_LISTED = 200


def list_user_sessions(user) -> list[BrowserSession]:
    """The user's sessions that are still open, newest first."""
    return list(db.session.scalars(
        db.select(BrowserSession)
        .filter(BrowserSession.user_id == user.id, BrowserSession.revoked_at.is_(None),
                BrowserSession.expires_at > utcnow())
        .order_by(BrowserSession.created_at.desc(), BrowserSession.id.desc())
        .limit(MAX_LISTED)))


def get_user_session(user, sid: str) -> BrowserSession:
    row = None
    if isinstance(sid, str) and 0 < len(sid) <= 64:
        row = db.session.scalar(db.select(BrowserSession).filter_by(user_id=user.id, sid=sid))
    if row is None or not row.is_active():
        raise NotFound("That session does not exist or has already ended.")
    return row


def end_user_session(user, sid: str, *, reason: str = "admin") -> BrowserSession:
    """Log the user out of one browser and revoke the tokens issued in that session."""
    row = get_user_session(user, sid)
    row.revoked_at = utcnow()
    row.pending = None
    tokens = revoke_tokens_where(IssuedToken.user_id == user.id, IssuedToken.session_sid == row.sid)
    record_event("user.session_ended", realm=user.realm, user=user, sid=row.sid, reason=reason, tokens=tokens)
    return row


def end_all_user_sessions(user, *, reason: str = "admin") -> dict:
    """Log the user out everywhere: every browser session, the logins under way and every
    token issued to apps. Remembered devices and factors stay. Returns what ended."""
    ended = {"sessions": end_browser_sessions(user), "logins": cancel_logins_under_way(user),
             "tokens": revoke_user_tokens(user)}
    record_event("user.sessions_ended", realm=user.realm, user=user, reason=reason, **ended)
    return ended
