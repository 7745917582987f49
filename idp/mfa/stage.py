from __future__ import annotations

from flask import url_for

from ..extensions import db
from ..login.transaction import Stage
from ..models import Authenticator
from ..services.mfa_policy import enabled_factor_kinds


def user_has_mfa(user) -> bool:
    """An administrator set the flag, or the user activated a factor themselves."""
    if user.mfa_enabled:
        return True
    return (
        db.session.scalar(
            db.select(Authenticator.id).filter_by(user_id=user.id, kind="totp", state="active").limit(1)
        )
        is not None
    )


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
    key = "mfa"

    def applies(self, txn):
        return mfa_required_for(txn)

    def url(self, txn):
        return url_for("mfa.start", realm_name=txn.realm.name, txn_id=txn.id)
