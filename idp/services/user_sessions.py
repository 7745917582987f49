"""A user's browser sessions as support staff see them (the console's user page, and any surface
that lists or ends them): when each began, when it was last seen, from which browser and address,
and how it was authenticated. Ending one logs that browser out at its next request; the tokens the
apps received in it are revoked too, as a logout would leave none usable."""
from __future__ import annotations

from ..extensions import db
from ..models import BrowserSession, IssuedToken, utcnow
from . import NotFound
from .audit import record_event
from .sign_out import end_browser_sessions, revoke_tokens_where

#: The longest list a page shows; a user rarely has more than a handful.
MAX_LISTED = 200


def active_sessions(user) -> list[BrowserSession]:
    """The user's sessions that are still active, the most recently seen first."""
    return list(db.session.scalars(
        db.select(BrowserSession)
        .filter(BrowserSession.user_id == user.id, BrowserSession.revoked_at.is_(None),
                BrowserSession.expires_at > utcnow())
        .order_by(BrowserSession.last_seen_at.desc(), BrowserSession.id.desc())
        .limit(MAX_LISTED)))


def get_active_session(user, sid: str) -> BrowserSession:
    row = None
    if isinstance(sid, str) and 0 < len(sid) <= 64:
        row = db.session.scalar(db.select(BrowserSession).filter_by(user_id=user.id, sid=sid))
    if row is None or not row.is_active():
        raise NotFound("That session does not exist or has already ended.")
    return row


def end_session(user, sid: str, *, reason: str = "admin") -> BrowserSession:
    """End one session of ``user`` and revoke the tokens issued in it. The caller commits."""
    row = get_active_session(user, sid)
    row.revoked_at = utcnow()
    row.pending = None
    tokens = revoke_tokens_where(IssuedToken.session_sid == row.sid)
    record_event("user.session_ended", realm=user.realm, user=user, sid=row.sid, reason=reason, tokens=tokens)
    return row


def end_all_sessions(user, *, reason: str = "admin") -> int:
    """End every session of ``user`` and revoke the tokens issued in them; how many sessions
    were open. Refresh tokens of apps that were not issued in a browser session stay. The
    caller commits."""
    sids = list(db.session.scalars(
        db.select(BrowserSession.sid).filter(BrowserSession.user_id == user.id, BrowserSession.revoked_at.is_(None))))
    count = end_browser_sessions(user)
    tokens = revoke_tokens_where(IssuedToken.session_sid.in_(sids)) if sids else 0
    record_event("user.sessions_ended", realm=user.realm, user=user, count=count, reason=reason, tokens=tokens)
    return count
