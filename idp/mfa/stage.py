from __future__ import annotations

from flask import url_for

from ..login.transaction import Stage
from ..services.mfa_policy import enabled_factor_kinds


def user_has_mfa(user) -> bool:
    """The user's MFA flag: set by an administrator, or by the user activating a factor
    (activate_totp, confirm_phone during enrolment) or turning it on from the account page."""
    return bool(user.mfa_enabled)


def mfa_required_for(txn) -> bool:
    realm, user = txn.realm, txn.user
    if user is None or not realm.mfa_enabled or not enabled_factor_kinds(realm):
        return False
    if "mfa" in (txn.amr or []):
        return False
    state = txn.stage_state or {}
    if state.get("skip_mfa"):
        return False
    if state.get("step_up_mfa"):
        return True
    if txn.form_variant == "registration":
        return realm.mfa_registration_form
    return realm.mfa_login_form and (realm.mfa_required or user_has_mfa(user))


class MfaStage(Stage):
    """Runs when ``mfa_required_for`` says so, unless this browser is a device the user asked
    to remember (``idp.lifecycle.devices``: never when a fresh second factor is asked for)."""

    key = "mfa"

    def applies(self, txn):
        if not mfa_required_for(txn):
            return False
        from ..lifecycle.devices import remembered_device_skips_mfa

        return not remembered_device_skips_mfa(txn)

    def url(self, txn):
        return url_for("mfa.start", realm_name=txn.realm.name, txn_id=txn.id)
