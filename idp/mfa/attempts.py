"""Failed second-factor attempts per account (NIST SP 800-63B §5.2.2).

After ``mfa.max_failed_attempts`` consecutive failures (default 10, well under the 100 NIST
allows) the account's second factor is locked for ``mfa.lockout_seconds``. A correct password
does not reset the count; only a successful second factor does. The counter lives in the
database and is updated atomically, so every worker sees the same count."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from ..extensions import db
from ..models import User, utcnow
from ..services.audit import record_event


def _settings():
    return current_app.extensions["idp.settings"].mfa


def locked_for_seconds(user) -> int:
    db.session.refresh(user, ["failed_mfa_attempts", "mfa_locked_until"])
    if user.mfa_locked_until and user.mfa_locked_until > utcnow():
        return int((user.mfa_locked_until - utcnow()).total_seconds()) + 1
    return 0


def record_failure(user, *, factor: str) -> None:
    settings = _settings()
    db.session.execute(
        db.update(User).where(User.id == user.id).values(failed_mfa_attempts=User.failed_mfa_attempts + 1)
    )
    db.session.refresh(user, ["failed_mfa_attempts"])
    record_event("mfa.failed", realm=user.realm, user=user, factor=factor, attempts=user.failed_mfa_attempts)
    if user.failed_mfa_attempts >= settings.max_failed_attempts:
        user.mfa_locked_until = utcnow() + dt.timedelta(seconds=settings.lockout_seconds)
        user.failed_mfa_attempts = 0
        record_event("mfa.locked", realm=user.realm, user=user, seconds=settings.lockout_seconds)
    db.session.commit()


def record_success(user, *, factor: str) -> None:
    user.failed_mfa_attempts = 0
    user.mfa_locked_until = None
    record_event("mfa.succeeded", realm=user.realm, user=user, factor=factor)
