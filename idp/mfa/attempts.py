"""Failed second-factor attempts per account (NIST SP 800-63B §5.2.2).

After ``mfa.max_failed_attempts`` consecutive failures (default 10, well under the 100 NIST
allows) the account's second factor is locked for ``mfa.lockout_seconds``. A correct password
does not reset the count; only a successful second factor does. The counter lives in the
database and is updated atomically, so every worker sees the same count.

Each attempt is claimed (counted) *before* its code is checked: requests that arrive together
cannot check more codes than the limit allows, and a successful check resets the count."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from ..database import (
    DirectStatement,
    commit_keeping_loaded_state,
    direct_connection,
    session_has_written_nothing,
)
from ..extensions import db
from ..models import User, utcnow
from ..ratelimit import mark_form_success
from ..services.audit import record_event


def _settings():
    return current_app.extensions["idp.settings"].mfa


def locked_for_seconds(user, *, reload: bool = True) -> int:
    """Seconds the account's second factor stays locked. ``reload=False`` trusts the row as this
    request loaded it: for a page that only shows the lock (the claim that guards a check,
    ``claim_attempt``, is atomic in the database either way)."""
    if reload:
        db.session.refresh(user, ["failed_mfa_attempts", "mfa_locked_until"])
    if user.mfa_locked_until and user.mfa_locked_until > utcnow():
        return int((user.mfa_locked_until - utcnow()).total_seconds()) + 1
    return 0


#: ``claim_attempt``'s ``UPDATE``, one statement committed as it runs (``DirectStatement``).
CLAIM_ATTEMPT = DirectStatement(
    db.update(User)
    .where(User.id == db.bindparam("user_id"), User.failed_mfa_attempts < db.bindparam("max_failed_attempts"),
           db.or_(User.mfa_locked_until.is_(None), User.mfa_locked_until <= db.bindparam("now")))
    .values(failed_mfa_attempts=User.failed_mfa_attempts + db.literal_column("1"))
)


def claim_attempt(user) -> int:
    """Count one attempt before its code is checked. Returns 0 when the code may be checked, or
    the seconds to wait when the account is locked (or its last attempt is being checked by a
    request running at the same moment).

    The claim is committed before the code is checked. Where the session has written nothing
    (a login's code page: ``session_has_written_nothing``) it is one ``DirectStatement``,
    committed as it runs, in place of the session's ``BEGIN``, ``UPDATE`` and ``COMMIT``; else
    the session's transaction commits with it."""
    settings = _settings()
    parameters = {"user_id": user.id, "max_failed_attempts": settings.max_failed_attempts, "now": utcnow()}
    if session_has_written_nothing(db.session()):
        with direct_connection(db.engine) as connection:
            claimed = CLAIM_ATTEMPT.run_on(connection, parameters)
    else:
        claimed = db.session.connection().execute(CLAIM_ATTEMPT.statement, parameters).rowcount
        commit_keeping_loaded_state()
    # What the request loaded stays loaded (the transaction, realm, credentials), except the two
    # columns the UPDATE changed.
    db.session.expire(user, ["failed_mfa_attempts", "mfa_locked_until"])
    if claimed == 1:
        return 0
    return locked_for_seconds(user) or settings.lockout_seconds


def record_failure(user, *, factor: str) -> None:
    """The attempt claimed with ``claim_attempt`` failed: the count stays, and reaching the
    limit locks the account's second factor."""
    settings = _settings()
    db.session.refresh(user, ["failed_mfa_attempts"])
    record_event("mfa.failed", realm=user.realm, user=user, factor=factor, attempts=user.failed_mfa_attempts)
    locked = db.session.execute(
        db.update(User)
        .where(User.id == user.id, User.failed_mfa_attempts >= settings.max_failed_attempts)
        .values(mfa_locked_until=utcnow() + dt.timedelta(seconds=settings.lockout_seconds), failed_mfa_attempts=0)
    ).rowcount
    if locked:
        record_event("mfa.locked", realm=user.realm, user=user, seconds=settings.lockout_seconds)
    db.session.commit()


def record_success(user, *, factor: str) -> None:
    mark_form_success()  # a right code does not count against the per-IP form limit
    user.failed_mfa_attempts = 0
    user.mfa_locked_until = None
    record_event("mfa.succeeded", realm=user.realm, user=user, factor=factor)
