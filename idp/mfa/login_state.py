"""The MFA stage of a login, as state on the persisted login transaction.

Kept in ``txn.stage_state["mfa"]``: the factor chosen, the credential being enrolled in this
login, the factor verified, and recovery codes waiting to be shown once (encrypted)."""
from __future__ import annotations

import json
import time

from ..login.transaction import complete_stage, ordered_amr, update_stage_state
from ..security import decrypt, encrypt
from ..services.audit import record_event
from . import flows
from .base import Challenge, Factor
from .registry import get_factor


def mfa_state(txn) -> dict:
    return dict((txn.stage_state or {}).get("mfa") or {})


def set_mfa_state(txn, **values) -> dict:
    state = mfa_state(txn)
    state.update(values)
    update_stage_state(txn, mfa=state)
    return state


def login_challenge(txn) -> Challenge:
    return Challenge(realm=txn.realm, user=txn.user, binding=txn.id)


def enrolling(txn) -> bool:
    """The user holds no factor this realm offers: this login sets one up."""
    return not flows.has_factor(txn.realm, txn.user)


def record_factor_success(txn, factor: Factor, authenticator=None) -> None:
    """The second factor was verified; the stage completes (and ``amr`` grows) in finish_mfa,
    after any recovery codes have been shown."""
    methods = list(factor.methods(authenticator)) if authenticator is not None else list(factor.amr)
    set_mfa_state(txn, verified=factor.kind, verified_amr=methods, enrolment=None)
    record_event("login.mfa_ok", realm=txn.realm, user=txn.user, factor=factor.kind)


def keep_recovery_codes(txn, codes: list[str] | None) -> None:
    if codes:
        set_mfa_state(txn, recovery_codes=encrypt(json.dumps(codes)))


def after_first_verification(txn) -> list[str] | None:
    """A user verified without holding recovery codes (an administrator's phone, a reset) gets
    them now, shown once before the login goes on."""
    codes = flows.issue_backup_codes(txn.user, only_if_missing=True)
    keep_recovery_codes(txn, codes)
    return codes


def pending_recovery_codes(txn) -> list[str] | None:
    blob = mfa_state(txn).get("recovery_codes")
    return json.loads(decrypt(blob)) if blob else None


def finish_mfa(txn) -> None:
    """Complete the stage: ``amr`` gets "mfa" and the verified factor's methods (RFC 8176)."""
    factor = get_factor(mfa_state(txn).get("verified"))
    if factor is None:
        raise ValueError("finish_mfa before a factor was verified")
    set_mfa_state(txn, recovery_codes=None)
    txn.auth_time = int(time.time())
    update_stage_state(txn, mfa_at=txn.auth_time)
    methods = mfa_state(txn).get("verified_amr")
    txn.amr = ordered_amr(set(txn.amr or []) | {"mfa", *(factor.amr if methods is None else methods)})
    complete_stage(txn, "mfa")


def may_use(txn, factor: Factor | None) -> bool:
    """Whether this login may verify with ``factor``: one the realm offers (still, since the
    login began) that the user holds a usable credential of."""
    return (factor is not None and factor.enabled(txn.realm)
            and bool(flows.usable_credentials(factor, txn.user)))


def login_factors(txn) -> list[Factor]:
    """What this login may be completed with: the user's factors, then backup factors."""
    return flows.usable_factors(txn.realm, txn.user, include_backup=True)


def default_factor(txn) -> Factor | None:
    chosen = get_factor(mfa_state(txn).get("factor"))
    if chosen is not None and not chosen.backup and may_use(txn, chosen):
        return chosen
    options = flows.usable_factors(txn.realm, txn.user)
    return options[0] if options else None
