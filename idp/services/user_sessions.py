"""A user's browser sessions (single sign-on), as an administrator sees and ends them: the API
(``/users/{id}/sessions``) and the console call these.

A session is known by its ``sid`` (the public id in the ID tokens it issued), never by its
cookie. Ending a session also revokes the tokens issued in it, as a logout should: an app that
still holds a refresh token from that browser loses it."""
from __future__ import annotations

from ..extensions import db
from ..models import BrowserSession, IssuedToken, utcnow
from . import NotFound
from .audit import record_event
from .sign_out import cancel_logins_under_way, end_browser_sessions, revoke_tokens_where, revoke_user_tokens


def list_user_sessions(user) -> list[BrowserSession]:
    """The user's sessions that are still open, newest first."""
    return list(db.session.scalars(
        db.select(BrowserSession)
        .filter(BrowserSession.user_id == user.id, BrowserSession.revoked_at.is_(None),
                BrowserSession.expires_at > utcnow())
        .order_by(BrowserSession.created_at.desc(), BrowserSession.id.desc())))


def get_user_session(user, sid: str) -> BrowserSession:
    row = db.session.scalar(db.select(BrowserSession).filter_by(user_id=user.id, sid=sid))
    if row is None or not row.is_active():
        raise NotFound("That session does not exist or has ended.")
    return row


def end_user_session(user, sid: str) -> None:
    """Log the user out of one browser and revoke the tokens issued in that session."""
    row = get_user_session(user, sid)
    row.revoked_at = utcnow()
    row.pending = None
    tokens = revoke_tokens_where(IssuedToken.user_id == user.id, IssuedToken.session_sid == sid)
    record_event("user.session_ended", realm=user.realm, user=user, sid=sid, tokens=tokens)


def end_all_user_sessions(user) -> dict:
    """Log the user out everywhere: every browser session, the logins under way and every
    token issued to apps. Remembered devices and factors stay. Returns what ended."""
    ended = {"sessions": end_browser_sessions(user), "logins": cancel_logins_under_way(user),
             "tokens": revoke_user_tokens(user)}
    record_event("user.sessions_ended", realm=user.realm, user=user, **ended)
    return ended
