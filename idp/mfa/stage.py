from __future__ import annotations

from flask import url_for

from ..login.acr import requests_mfa
from ..login.stages import INTERACTION_REQUIRED, Prompt
from .flows import enrollable_factors


def user_has_mfa(user) -> bool:
    """The user's MFA flag: set by an administrator, or by the user activating a factor
    (``flows.activate``) or turning it on from the account page."""
    return bool(user.mfa_enabled)


def mfa_required_for(txn) -> bool:
    """Whether this login must pass our second factor, first rule that decides wins:

    - no user yet, MFA off in the realm, or no factor the realm offers: no;
    - a browser session this login continues already passed our factor, or an upstream
      provider in ``upstream`` mode asserted one of the ``amr``/``acr`` values its operator
      allowed (``idp.social``): no, unless this login needs our code entered now
      (``code_needed_now``);
    - the relying app asked for MFA (``acr_values``), our account page asks for a step-up, the
      upstream provider is in ``require`` mode, or this login links an upstream identity to an
      account that has a second factor: yes;
    - an upstream provider in ``skip`` mode (the seed's default for social logins): no;
    - otherwise the realm's form rules (roq-mfa.txt): registration form, or login form for a
      user with MFA (or every user when the realm requires it).

    Only what *we* verified counts: ``txn.amr`` never holds an upstream's methods."""
    realm, user = txn.realm, txn.user
    if user is None or not realm.mfa_enabled or not enrollable_factors(realm):
        return False
    state = txn.stage_state or {}
    now = code_needed_now(txn)
    if ("mfa" in (txn.amr or []) or state.get("upstream_mfa")) and not now:
        return False
    if now or state.get("step_up_mfa") or state.get("require_mfa"):
        return True
    if state.get("skip_mfa"):
        return False
    if txn.form_variant == "registration":
        return realm.mfa_registration_form
    return realm.mfa_login_form and (realm.mfa_required or user_has_mfa(user))


def code_needed_now(txn) -> bool:
    """Our own factor must be verified in this very login, whatever came before: a step-up
    started by our account page or console (it guards changes to factors), or a login that
    links an upstream identity to an account with a second factor."""
    state = txn.stage_state or {}
    return bool(state.get("require_fresh_mfa")) or (not txn.client_id and bool(state.get("step_up_mfa")))


def fresh_mfa_requested(txn) -> bool:
    """The login must run the MFA step even on a remembered device or within a session that
    passed it before: ``prompt=login``, ``acr_values`` asking for MFA together with ``max_age``,
    a step-up started by our own account page (it protects factor changes, so it always wants
    a code), or a login that links an upstream identity to an account with a second factor."""
    params = txn.authorization_request or {}
    if "login" in (params.get("prompt") or "").split():
        return True
    if requests_mfa(params.get("acr_values")) and str(params.get("max_age") or "").strip() != "":
        return True
    return code_needed_now(txn)


class MfaStage:
    """Runs when ``mfa_required_for`` says so, unless this browser is a device the user asked
    to remember (``idp.lifecycle.devices``: never when a fresh second factor is asked for)."""

    key = "mfa"

    def check(self, txn):
        if not mfa_required_for(txn):
            return None
        if fresh_mfa_requested(txn):
            return Prompt("fresh_mfa_requested", INTERACTION_REQUIRED)
        from ..lifecycle.devices import remembered_device

        if remembered_device(txn) is not None:
            return None
        return Prompt("mfa_required", INTERACTION_REQUIRED)

    def conclude(self, txn):
        """A remembered device that stood in for the second factor is recorded once the whole
        login succeeded (its ``last_used_at``, the login's ``acr``, an audit event)."""
        if "mfa" in (txn.completed_stages or []) or not mfa_required_for(txn) or fresh_mfa_requested(txn):
            return
        from ..lifecycle.devices import record_remembered_device_use

        record_remembered_device_use(txn)

    def url(self, txn):
        """The code page of the user's default factor when the step has just begun and there is
        one (a browser saves the hop through ``/mfa``); else ``/mfa``, which decides (a choice,
        setting a factor up, recovery codes to show)."""
        from .login_state import default_factor, mfa_state

        if txn.user is not None and not mfa_state(txn).get("verified"):
            factor = default_factor(txn)
            if factor is not None:
                return url_for("mfa.verify", realm_name=txn.realm.name, txn_id=txn.id, kind=factor.kind)
        return url_for("mfa.start", realm_name=txn.realm.name, txn_id=txn.id)
