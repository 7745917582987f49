"""The verbs every surface calls to change or check a user's credentials: the hosted MFA pages,
the account page, the management API, the console and the CLI. None of them branches on a
factor's kind; what differs between factors is behind ``base.Factor``.

- ``start_enrolment`` / ``complete_enrolment``: a new pending credential (its own id, every
  time), then its first response; wrong responses count against the credential's own limit
  (``mfa.enrolment_max_attempts``), never the login lock;
- ``activate``: the credential becomes usable, the user's MFA flag turns on, and the *first*
  active factor brings the backup factor (recovery codes), whose plain codes are returned once;
- ``remove``: the credential goes; when the user's last factor goes, so do their recovery codes
  and their MFA flag, unless the realm requires MFA (they then log in as the realm's policy
  says for users without MFA);
- ``guarded_verify``: claim an attempt, check the lock, verify, record the result;
- ``update_data``: change a credential's data atomically (compare-and-set on ``revision``)."""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..database import DirectStatement, model_columns, persistent_instance
from ..extensions import db
from ..models import Authenticator, utcnow
from ..services.audit import record_event
from . import attempts
from .base import Challenge, Factor, FactorError
from .registry import all_factors, get_factor


class MfaLocked(Exception):
    """Too many wrong responses: the account's second factor is locked for ``seconds``."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


class WrongResponse(Exception):
    """The response did not verify; ``message`` is for the user."""

    def __init__(self, message: str, *, attempts_left: int | None = None, exhausted: bool = False):
        super().__init__(message)
        self.message = message
        self.attempts_left = attempts_left
        self.exhausted = exhausted


class EnrolmentExpired(Exception):
    """The pending credential took too many wrong responses (or is gone): start again."""


# --- what a user holds ------------------------------------------------------------------------

_HELD = "idp.mfa.credentials_held"
#: ``session.info`` flag: this session's transaction has written authenticators (``_after_flush``,
#: ``_bulk_statement``), which a read outside the transaction would not see.
_WRITTEN = "idp.mfa.credentials_written"


def credentials_of(user, *, state: str | None = "active", kind: str | None = None) -> list[Authenticator]:
    """The user's credentials (of one state and kind), oldest first.

    One login page asks several times (which factors may be used, the default one, the one that
    verifies, whether recovery codes are held): the user's rows are read once per session and
    kept in ``session.info`` until this session writes an authenticator (flush or bulk
    statement), commits expiring them, rolls back, or the request's session ends."""
    session = db.session()
    rows = _held_rows(session, user)
    if rows is None:
        rows = _read_credentials(session, user)
        session.info.setdefault(_HELD, {})[user.id] = rows
    return [row for row in rows if (state is None or row.state == state) and (kind is None or row.kind == kind)]


@functools.cache
def _credentials_by_user() -> DirectStatement:
    return DirectStatement(db.select(*model_columns(Authenticator)).where(Authenticator.user_id == db.bindparam("user_id"))
                           .order_by(Authenticator.created_at, Authenticator.id))


def _read_credentials(session, user) -> list[Authenticator]:
    """The user's rows, in ``session``. Three pages of a login read them (password, code page,
    code), and the ORM's query cost each about half a millisecond of CPU, several times the
    ``DirectStatement`` that reads the same rows outside the session's transaction. That read
    cannot see what the transaction wrote and has not committed, so the ORM's query (which
    flushes first) still runs when the session has changes to authenticators or has written
    some in its transaction; a row the session holds is the one returned."""
    if session.info.get(_WRITTEN) or _changes_what_is_held(session):
        return list(db.session.scalars(
            db.select(Authenticator).filter_by(user_id=user.id).order_by(Authenticator.created_at, Authenticator.id)))
    return [persistent_instance(session, Authenticator, row._asdict())
            for row in _credentials_by_user().all(db.engine, {"user_id": user.id})]


def _held_rows(session, user) -> list[Authenticator] | None:
    """The memo of ``credentials_of``, or None where a query must run: the session holds
    unflushed changes to authenticators (the query would flush them first), or a memo row has
    left the session."""
    rows = session.info.get(_HELD, {}).get(user.id)
    if rows is None or any(row not in session for row in rows) or _changes_what_is_held(session):
        return None
    return rows


def _changes_what_is_held(session) -> bool:
    """Whether the session adds or deletes authenticators, or changes whose they are, their kind
    or their state (a change of data or of ``last_used_at`` leaves what is held the same)."""
    if any(isinstance(item, Authenticator) for item in (*session.new, *session.deleted)):
        return True
    for item in session.dirty:
        if isinstance(item, Authenticator):
            attrs = inspect(item).attrs
            if any(attrs[key].history.has_changes() for key in ("user_id", "kind", "state")):
                return True
    return False


def forget_held_credentials(session, *_args) -> None:
    session.info.pop(_HELD, None)


@event.listens_for(Session, "after_flush")
def _after_flush(session, _flush_context) -> None:
    if any(isinstance(item, Authenticator) for item in (*session.new, *session.dirty, *session.deleted)):
        session.info[_WRITTEN] = True
    if _HELD in session.info and _changes_what_is_held(session):
        forget_held_credentials(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and \
            getattr(getattr(state.statement, "table", None), "name", None) == Authenticator.__tablename__:
        state.session.info[_WRITTEN] = True
        if not state.execution_options.get("credentials_unchanged"):
            forget_held_credentials(state.session)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if session.expire_on_commit:  # the rows are expired: reading them again is one query, not one each
        forget_held_credentials(session)


event.listen(Session, "after_soft_rollback", forget_held_credentials)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session) -> None:
    session.info.pop(_WRITTEN, None)


def factor_of(authenticator: Authenticator) -> Factor | None:
    return get_factor(authenticator.kind)


def find_credential(user, credential_id: str) -> Authenticator | None:
    """The user's credential of a factor this installation has, by id."""
    row = db.session.get(Authenticator, credential_id) if credential_id and len(credential_id) <= 32 else None
    if row is None or row.user_id != user.id or factor_of(row) is None:
        return None
    return row


def usable_credentials(factor: Factor, user) -> list[Authenticator]:
    return [row for row in credentials_of(user, kind=factor.kind) if factor.usable(row)]


def usable_factors(realm, user, *, include_backup: bool = False) -> list[Factor]:
    """The factors this user can verify with in this realm now, in the installation's order;
    backup factors (recovery codes) only when asked for and when another factor is offered."""
    result = []
    for factor in all_factors():
        if factor.backup and not include_backup:
            continue
        if factor.enabled(realm) and usable_credentials(factor, user):
            result.append(factor)
    return result


def enrollable_factors(realm) -> list[Factor]:
    return [factor for factor in all_factors() if not factor.backup and factor.enabled(realm)]


def has_factor(realm, user) -> bool:
    return bool(usable_factors(realm, user))


def describe_credentials(user, *, state: str | None = "active") -> list:
    """Every credential of the user, as lists show them (the account page, the console, the API)."""
    result = []
    for row in credentials_of(user, state=state):
        factor = factor_of(row)
        if factor is not None:
            result.append(factor.describe(row))
    return result


# --- data -------------------------------------------------------------------------------------

def update_data(authenticator: Authenticator, change: Callable[[dict], dict | None], *, used: bool = False) -> bool:
    """Apply ``change`` to a copy of the credential's data and store it only if nobody changed
    the row meanwhile (``revision``). ``change`` returns the new data, or None to leave it.
    Returns whether the new data was stored. With ``used`` the change is the claim of a
    verification (a TOTP step): the same statement records the use (``last_used_at``), and
    ``touch`` has nothing left to write.

    The data as this request loaded it is tried first (the compare-and-set makes a stale copy
    harmless); only when the row moved on is it read again and ``change`` asked once more."""
    state = inspect(authenticator)
    loaded = (state.unloaded.isdisjoint({"data", "revision"})
              and not any(state.attrs[key].history.has_changes() for key in ("data", "revision")))
    if not loaded:
        db.session.refresh(authenticator, ["data", "revision"])
    while True:
        new = change(copy.deepcopy(authenticator.data or {}))
        if new is None:
            return False
        revision = authenticator.revision + 1
        now = utcnow()
        stored = db.session.execute(
            db.update(Authenticator)
            .where(Authenticator.id == authenticator.id, Authenticator.revision == authenticator.revision)
            .values(data=new, revision=revision, **({"last_used_at": now} if used else {}))
            # the rows a user holds, their kinds and states stay as ``credentials_of`` read them
            .execution_options(synchronize_session=False, credentials_unchanged=True)
        ).rowcount
        if stored == 1:
            # what the row now holds, exactly: no SELECT to read back what was just written
            set_committed_value(authenticator, "data", copy.deepcopy(new))
            set_committed_value(authenticator, "revision", revision)
            if used:
                set_committed_value(authenticator, "last_used_at", now)
                db.session.info.setdefault(_USE_RECORDED, set()).add(authenticator.id)
            return True
        if not loaded:
            return False
        # The row as this request loaded it was older than the database's: read it, and
        # decide once more on what is there now (exactly what a first read would have done).
        loaded = False
        db.session.refresh(authenticator, ["data", "revision"])


_USE_RECORDED = "idp.mfa.use_recorded"


def touch(authenticator: Authenticator) -> None:
    """Record that the credential was used, unless the claim that verified it in this
    transaction already did (``update_data(used=True)``)."""
    if authenticator.id in db.session.info.get(_USE_RECORDED, ()):
        return
    authenticator.last_used_at = utcnow()


def _forget_recorded_uses(session, *_args) -> None:
    session.info.pop(_USE_RECORDED, None)


event.listen(Session, "after_commit", _forget_recorded_uses)
event.listen(Session, "after_soft_rollback", _forget_recorded_uses)


# --- enrolment --------------------------------------------------------------------------------

def start_enrolment(factor: Factor, user, fields: Mapping | None = None) -> Authenticator:
    """A new pending credential with its own id (older pending ones are left to expire and be
    purged, so the first QR code a user scanned still names its own credential)."""
    if factor.backup or not factor.enabled(user.realm):
        raise FactorError(str(_not_offered()), field="credential_type")
    return factor.begin_enrolment(user, fields or {})


def _not_offered():
    from ..i18n import _l

    return _l("This method is not offered here.")


def enrolment_challenge(authenticator: Authenticator) -> Challenge:
    """Codes for an enrolment are bound to its pending credential, not to a login or page."""
    user = authenticator.user
    return Challenge(realm=user.realm, user=user, binding=f"enrol:{authenticator.id}", authenticator=authenticator)


def pending_credential(user, credential_id, kind: str | None = None) -> Authenticator | None:
    row = find_credential(user, credential_id) if isinstance(credential_id, str) else None
    if row is None or row.state != "pending" or (kind is not None and row.kind != kind):
        return None
    return row


def enrolment_attempts_left(authenticator: Authenticator) -> int:
    limit = current_app.extensions["idp.settings"].mfa.enrolment_max_attempts
    return max(0, limit - int((authenticator.data or {}).get("enrolment_attempts", 0)))


def complete_enrolment(authenticator: Authenticator, response: Mapping, *, by: str) -> list[str] | None:
    """Check the pending credential's first response and activate it. Each check is claimed
    against the credential's own limit before it runs; at the limit the credential is dead.
    Returns recovery codes to show once when this was the user's first factor; raises
    ``WrongResponse`` or ``EnrolmentExpired``."""
    factor = factor_of(authenticator)
    limit = current_app.extensions["idp.settings"].mfa.enrolment_max_attempts

    def claim(data):
        used = int(data.get("enrolment_attempts", 0))
        if used >= limit:
            return None
        data["enrolment_attempts"] = used + 1
        return data

    if authenticator.state != "pending" or factor is None or not update_data(authenticator, claim):
        raise EnrolmentExpired()
    db.session.commit()
    challenge = enrolment_challenge(authenticator)
    if not factor.complete_enrolment(challenge, response):
        record_event("mfa.enrolment_failed", realm=authenticator.user.realm, user=authenticator.user,
                     factor=factor.kind, attempts_left=enrolment_attempts_left(authenticator))
        db.session.commit()
        left = enrolment_attempts_left(authenticator)
        if left == 0:
            raise EnrolmentExpired()
        exhausted = factor.exhausted(challenge)
        raise WrongResponse(str(factor.exhausted_message if exhausted else factor.wrong_response_message),
                            attempts_left=left, exhausted=exhausted)
    return activate(authenticator, by=by)


def activate(authenticator: Authenticator, *, by: str) -> list[str] | None:
    """Make a pending credential usable. A factor that allows one credential per user replaces
    the older one. The user's MFA flag turns on; the first factor brings recovery codes."""
    user = authenticator.user
    factor = factor_of(authenticator)
    if factor.single:
        for older in credentials_of(user, kind=factor.kind):
            if older.id != authenticator.id:
                db.session.delete(older)
    authenticator.state = "active"
    authenticator.activated_at = utcnow()
    data = dict(authenticator.data or {})
    data.pop("enrolment_attempts", None)
    authenticator.data = data
    authenticator.revision = (authenticator.revision or 0) + 1
    factor.on_activate(authenticator)
    user.mfa_enabled = True
    record_event(factor.added_event, realm=user.realm, user=user, factor=factor.kind, device=authenticator.name,
                 by=by)
    db.session.flush()
    return issue_backup_codes(user, only_if_missing=True)


def issue_backup_codes(user, *, only_if_missing: bool = False) -> list[str] | None:
    """A new set of the backup factor's codes (replacing any old set); with ``only_if_missing``
    only for a user who has none. The plain codes are returned to be shown once."""
    for factor in all_factors():
        if not factor.backup:
            continue
        held = credentials_of(user, kind=factor.kind)
        if only_if_missing and held:
            return None
        for row in held:
            db.session.delete(row)
        db.session.flush()
        return factor.issue(user)
    return None


def remove(authenticator: Authenticator, *, by: str) -> None:
    """Delete a credential. When the user holds no other factor, their recovery codes go too
    and MFA turns off for them, unless their realm requires MFA."""
    user = authenticator.user
    factor = factor_of(authenticator)
    record_event(factor.removed_event if factor is not None else "mfa.credential_removed", realm=user.realm,
                 user=user, factor=authenticator.kind, device=authenticator.name, by=by)
    db.session.delete(authenticator)
    db.session.flush()
    if factor is not None and not factor.backup and authenticator.state == "active":
        _after_last_factor(user, by=by)


def _after_last_factor(user, *, by: str) -> None:
    remaining = [row for row in credentials_of(user) if (f := factor_of(row)) is not None and not f.backup]
    if remaining:
        return
    for row in credentials_of(user, state=None):
        if (f := factor_of(row)) is not None and f.backup:
            db.session.delete(row)
    if user.mfa_enabled and not user.realm.mfa_required:
        user.mfa_enabled = False
        record_event("mfa.user_flag_changed", realm=user.realm, user=user, enabled=False, by=by,
                     reason="last_factor_removed")


def remove_all(user) -> None:
    """Every credential of the user, pending ones too (an administrator's reset)."""
    for row in credentials_of(user, state=None):
        db.session.delete(row)


def rename(authenticator: Authenticator, name: str) -> None:
    from ..i18n import _

    name = (name or "").strip()
    factor = factor_of(authenticator)
    if factor is None or not factor.renamable(authenticator):
        raise FactorError(_("This cannot be renamed."), field="name")
    if not name or len(name) > 100:
        raise FactorError(_("Device name must be 1-100 characters."), field="name")
    authenticator.name = name


# --- verification -----------------------------------------------------------------------------

def locked_for_seconds(user, *, reload: bool = True) -> int:
    return attempts.locked_for_seconds(user, reload=reload)


def guarded_verify(factor: Factor, challenge: Challenge, response: Mapping) -> Authenticator:
    """Claim an attempt against the account's lock, verify, record. Returns the credential that
    matched; raises ``MfaLocked`` or ``WrongResponse``. The caller commits."""
    user = challenge.user
    seconds = attempts.claim_attempt(user)
    if seconds:
        raise MfaLocked(seconds)
    authenticator = factor.verify(challenge, response)
    if authenticator is not None:
        touch(authenticator)
        attempts.record_success(user, factor=factor.kind)
        return authenticator
    attempts.record_failure(user, factor=factor.kind)
    seconds = attempts.locked_for_seconds(user)
    if seconds:
        raise MfaLocked(seconds)
    left = max(0, current_app.extensions["idp.settings"].mfa.max_failed_attempts - (user.failed_mfa_attempts or 0))
    exhausted = factor.exhausted(challenge)
    raise WrongResponse(str(factor.exhausted_message if exhausted else factor.wrong_response_message),
                        attempts_left=left, exhausted=exhausted)
