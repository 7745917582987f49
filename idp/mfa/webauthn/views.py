"""Passkey sign-in (passwordless): "Sign in with a passkey" on the login page, and passkeys in
the email field's autofill (conditional mediation).

The login page asks for a discoverable credential with a challenge bound to its login
transaction. The response names its user (the user handle is the user's id); the passkey must
be one of that user's, in this realm, and the user must be able to log in (not disabled, not
awaiting the verification of their registration, their second factor not locked). A
user-verified passkey is multi-factor on its own (``amr`` ``hwk``/``swk``, ``user``, ``mfa``):
the MFA stage has nothing left to ask, unless this login needs a fresh code (a step-up). The
login then runs its other stages (email verification, consent) and ends like any other.

The new sign count is stored at once (it is what detects a cloned key, like a TOTP step); the
credential's ``last_used_at`` waits until the whole login has succeeded."""
from __future__ import annotations

from types import SimpleNamespace

from flask import g, redirect, request, url_for

from ...extensions import db
from ...i18n import _
from ...login import flow as login_flow
from ...login.completion import (
    after_password,
    defer_until_login_succeeds,
    register_deferred_change,
)
from ...login.transaction import (
    authenticate_in_transaction,
    load_transaction,
    transaction_blueprint,
)
from ...login.views import register_sign_in_option
from ...models import Authenticator, User
from ...ratelimit import mark_form_success
from ...services.audit import record_event
from .. import attempts
from ..registry import get_factor
from . import ceremonies
from .ceremonies import CeremonyFailed
from .factor import find_passkey, methods_of, verify_passkey
from .forms import PasskeyForm

passkey_bp = transaction_blueprint("passkey", __name__, "/passkey")


def passkey_sign_in_offered(realm) -> bool:
    factor = get_factor("webauthn")
    return bool(realm.passkey_sign_in) and factor is not None and factor.enabled(realm)


def sign_in_option(txn):
    """The login page's passkey form: request options for discoverable credentials with a new
    challenge for this login; the email field gets ``autocomplete="username webauthn"``."""
    if not passkey_sign_in_offered(txn.realm) or (txn.user_id is not None and "password" in (txn.completed_stages or [])):
        return None
    challenge = ceremonies.issue_challenge(txn.realm, None, txn.id, purpose="sign_in")
    options = ceremonies.authentication_options(txn.realm, challenge)
    db.session.commit()
    failed = request.args.get("passkey") == "failed"
    return SimpleNamespace(template="mfa/webauthn/sign_in.html", username_autocomplete="webauthn",
                           # after a refusal, the autofill waits for the user (no loop of retries)
                           conditional=not failed,
                           action_url=url_for("passkey.sign_in", realm_name=txn.realm.name, txn_id=txn.id),
                           form=PasskeyForm(formdata=None), options_json=options,
                           error=_("That passkey could not be used to sign in. Try again, or log in with your "
                                   "password.") if failed else None)


def _refused(txn, reason: str, user=None):
    record_event("login.failed", realm=txn.realm, user=user, reason=reason, method="passkey")
    db.session.commit()
    return redirect(url_for("login.login", realm_name=txn.realm.name, txn_id=txn.id, passkey="failed"))


def _user_for(realm, credential):
    user_id = ceremonies.user_handle_in(credential)
    user = db.session.get(User, user_id) if user_id and len(user_id) <= 32 else None
    if user is None or user.realm_id != realm.id:
        return None
    return user


@passkey_bp.post("")
def sign_in():
    txn = load_transaction(g.realm, g.txn_id)
    if not passkey_sign_in_offered(txn.realm):
        return redirect(url_for("login.login", realm_name=txn.realm.name, txn_id=txn.id))
    form = PasskeyForm()
    if not form.validate_on_submit():
        return _refused(txn, "passkey_form")
    try:
        credential = ceremonies.parse_response(form.credential.data)
        challenge = ceremonies.claim_challenge(None, txn.id, credential)
    except CeremonyFailed:
        return _refused(txn, "passkey_challenge")
    user = _user_for(txn.realm, credential)
    row = find_passkey(user, ceremonies.credential_id_in(credential)) if user is not None else None
    if row is None:
        return _refused(txn, "passkey_unknown")
    if user.disabled or user.registration_pending or attempts.locked_for_seconds(user):
        return _refused(txn, "passkey_account_unavailable", user)
    verified = verify_passkey(txn.realm, user, row, credential, challenge)
    if verified is None:
        return _refused(txn, "passkey_invalid", user)
    methods = list(methods_of(row.data, user_verified=verified.user_verified))
    if verified.user_verified:
        methods.append("mfa")
    mark_form_success()
    txn.form_variant = "login"
    authenticate_in_transaction(txn, user, stage_key="password", amr=methods)
    after_password(txn, user)
    defer_until_login_succeeds(txn, "passkey_used", authenticator_id=row.id)
    record_event("login.passkey_ok", realm=txn.realm, user=user, client_id=txn.client_id, device=row.name,
                 user_verified=bool(verified.user_verified))
    return login_flow.advance(txn)


def _record_passkey_use(txn, *, authenticator_id):
    row = db.session.get(Authenticator, authenticator_id)
    if row is not None:
        from ..flows import touch

        touch(row)
    attempts.record_success(txn.user, factor="webauthn")


def init_app(app) -> None:
    app.register_blueprint(passkey_bp)
    register_sign_in_option(app, sign_in_option)
    register_deferred_change(app, "passkey_used", _record_passkey_use)
