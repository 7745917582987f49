"""Ending what a user is signed in with: browser sessions (single sign-on), the tokens issued to
apps (refresh tokens, and the access tokens userinfo and introspection check against the same
rows), and remembered devices.

``change_password`` is the one rule for a password set by anyone but the user in a session of
their own: a reset through the mailed link (``lifecycle.reset``), or an administrator (``idp
users set --password``, ``PUT /api/v1/realms/R/users/U/password``, the console's user page).
Whoever knew the old password may hold a session, a refresh token or a remembered device, so
all of them end. An administrator may keep the sessions and tokens, explicitly
(``keep_sessions``); remembered devices are forgotten after every password change whatever the
caller says (``lifecycle.notifications``). Both choices are in the audit log.

The services layer owns these because every surface calls them; the protocol code (``oidc``)
imports them from here, not the other way round."""
from __future__ import annotations

from ..extensions import db
from ..models import BrowserSession, IssuedToken, LoginTransaction, RememberedDevice, utcnow
from .audit import record_event
from .users import set_password


def change_password(user, password: str, *, reason: str, keep_sessions: bool = False) -> None:
    """Set ``user``'s password under the realm's policy (``ServiceError`` if it breaks it) and,
    unless ``keep_sessions``, sign them out everywhere. ``reason`` names who asked
    (``"admin"``, ``"password_reset"``) in the audit events. The caller commits."""
    set_password(user, password, reason=reason, kept_sessions=True if keep_sessions else None)
    if not keep_sessions:
        sign_out_everywhere(user, reason=reason)


def sign_out_everywhere(user, *, reason: str) -> dict:
    """End every browser session and token of ``user``, cancel the logins to the account that
    are under way (one that passed the password stage before a reset must not finish after it),
    and forget their remembered devices; one audit event ``user.signed_out_everywhere`` with what
    ended. The caller commits."""
    ended = {
        "sessions": end_browser_sessions(user),
        "logins": cancel_logins_under_way(user),
        "tokens": revoke_user_tokens(user),
        "remembered_devices": forget_all_devices(user, reason=reason),
    }
    record_event("user.signed_out_everywhere", realm=user.realm, user=user, reason=reason, **ended)
    return ended


def cancel_logins_under_way(user) -> int:
    return db.session.execute(
        db.update(LoginTransaction)
        .where(LoginTransaction.user_id == user.id, LoginTransaction.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    ).rowcount


def end_browser_sessions(user) -> int:
    """Log the user out of every browser; the number of sessions that were open."""
    return db.session.execute(
        db.update(BrowserSession)
        .where(BrowserSession.user_id == user.id, BrowserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount


def revoke_user_tokens(user) -> int:
    return revoke_tokens_where(IssuedToken.user_id == user.id)


def revoke_tokens_where(*criteria, max_passes: int = 10) -> int:
    """Revoke every token row matching ``criteria``, including those a refresh in flight adds.

    A refresh that has claimed its old row holds that row's lock until it commits its
    successor; the ``UPDATE`` waits for it, but (under READ COMMITTED) cannot see the
    successor inserted meanwhile. Each later pass starts after those commits and sees them, so
    the passes stop when one finds nothing left to revoke."""
    revoked = 0
    for _ in range(max_passes):
        count = db.session.execute(
            db.update(IssuedToken).where(*criteria, IssuedToken.revoked_at.is_(None)).values(revoked_at=utcnow())
        ).rowcount
        revoked += count
        if not count:
            break
    return revoked


def forget_all_devices(user, *, reason: str) -> int:
    """Every browser remembered for ``user`` asks for the second factor again."""
    with db.session.no_autoflush:
        deleted = db.session.execute(
            db.delete(RememberedDevice).where(RememberedDevice.user_id == user.id)
            .execution_options(synchronize_session=False)
        ).rowcount
    if deleted:
        record_event("mfa.remembered_devices_forgotten", realm=user.realm, user=user, count=deleted, reason=reason)
    return deleted
