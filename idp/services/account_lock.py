"""Locking an account (an administrator, a provisioning client's ``active: false``) and
unlocking it. Every surface that locks goes through here, so the lock always ends the user's
sessions and tokens and always records its event."""
from __future__ import annotations

from .audit import record_event
from .sign_out import end_browser_sessions, revoke_user_tokens


def lock_user(user, **details) -> None:
    """The user can no longer log in, and is logged out of every session and app. ``details``
    (``by="scim"``) go into the ``user.locked`` event. The caller commits."""
    user.disabled = True
    end_browser_sessions(user)
    revoke_user_tokens(user)
    record_event("user.locked", realm=user.realm, user=user, **details)


def unlock_user(user, **details) -> None:
    """The account works again, and a second-factor lockout (too many wrong codes) is lifted."""
    user.disabled = False
    user.failed_mfa_attempts, user.mfa_locked_until = 0, None
    record_event("user.unlocked", realm=user.realm, user=user, **details)
