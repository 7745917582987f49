"""The MFA stage of a login, as steps on the persisted login transaction.

State kept in ``txn.stage_state["mfa"]``: the factor in use, the phone being verified (and
whether it was typed during this login), a pending authenticator device, and recovery codes
waiting to be shown once (encrypted)."""
from __future__ import annotations

import json
import time

from ..extensions import db
from ..login.transaction import complete_stage, ordered_amr, update_stage_state
from ..security import decrypt, encrypt
from ..services.audit import record_event
from . import attempts
from .base import Challenge, Factor, get_factor, usable_factors
from .recovery import generate_recovery_codes, has_recovery_codes


def mfa_state(txn) -> dict:
    return dict((txn.stage_state or {}).get("mfa") or {})


def set_mfa_state(txn, **values) -> dict:
    state = mfa_state(txn)
    state.update(values)
    update_stage_state(txn, mfa=state)
    return state


def challenge_for(txn) -> Challenge:
    state = mfa_state(txn)
    return Challenge(realm=txn.realm, user=txn.user, binding=txn.id, phone=state.get("phone") or txn.user.phone)


def record_factor_success(txn, factor: Factor) -> None:
    """The second factor was verified; the stage completes (and ``amr`` grows) in finish_mfa,
    after any recovery codes have been shown."""
    user = txn.user
    attempts.record_success(user, factor=factor.kind)
    set_mfa_state(txn, verified=factor.kind)
    record_event("login.mfa_ok", realm=txn.realm, user=user, factor=factor.kind)


def confirm_phone(txn) -> None:
    """An SMS code arrived at the phone: it is verified, and a user who enrolled it has MFA."""
    user, state = txn.user, mfa_state(txn)
    phone = state.get("phone") or user.phone
    if user.phone != phone:
        record_event("mfa.phone_changed", realm=txn.realm, user=user, by="user")
    user.phone = phone
    user.phone_verified = True
    if state.get("enrolling"):
        user.mfa_enabled = True


def after_first_verification(txn) -> list[str] | None:
    """Recovery codes are generated after the first successful verification of any factor, and
    kept (encrypted) in the transaction until the user confirms they saved them."""
    user = txn.user
    if has_recovery_codes(user):
        return None
    codes = generate_recovery_codes(user)
    set_mfa_state(txn, recovery_codes=encrypt(json.dumps(codes)))
    return codes


def pending_recovery_codes(txn) -> list[str] | None:
    blob = mfa_state(txn).get("recovery_codes")
    return json.loads(decrypt(blob)) if blob else None


def finish_mfa(txn) -> None:
    """Complete the stage: ``amr`` gets "mfa" and the verified factor's methods (RFC 8176)."""
    factor = get_factor(mfa_state(txn).get("verified") or "")
    if factor is None:
        raise ValueError("finish_mfa before a factor was verified")
    set_mfa_state(txn, recovery_codes=None)
    txn.auth_time = int(time.time())
    update_stage_state(txn, mfa_at=txn.auth_time)
    txn.amr = ordered_amr(set(txn.amr or []) | {"mfa", *factor.amr})
    complete_stage(txn, "mfa")


def may_use(txn, factor: Factor | None) -> bool:
    """Whether this login may verify with ``factor``: one the realm allows (still, since the login
    began) and the user holds, or the phone being enrolled in this login."""
    if factor is None or factor.kind == "recovery" or not factor.enabled(txn.realm):
        return False
    state = mfa_state(txn)
    return factor.enrolled(txn.user) or (factor.kind == "sms" and bool(state.get("enrolling") and state.get("phone")))


def default_factor(txn) -> Factor | None:
    chosen = get_factor(mfa_state(txn).get("factor") or "")
    if may_use(txn, chosen):
        return chosen
    options = usable_factors(txn.realm, txn.user)
    return options[0] if options else None


def commit() -> None:
    db.session.commit()
