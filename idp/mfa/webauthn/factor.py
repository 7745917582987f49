"""Passkeys and security keys (WebAuthn, with py_webauthn; ``ceremonies`` has the rules).

A credential's ``data``: ``credential_id`` and ``public_key`` (base64url), ``sign_count``,
``transports``, ``aaguid``, ``backup_eligible`` and ``backup_state`` (the authenticator data's
BE/BS flags), ``user_verified`` at registration.

**amr (RFC 8176).** A passkey that can be backed up (BE set: synced by a platform such as
iCloud Keychain or Google Password Manager) is a software-secured key, ``swk``; one that cannot
(a security key, a device-bound platform key) is hardware-secured, ``hwk``. A verified user on
the device (PIN, biometric) adds ``user``; the method is then multi-factor on its own (``mfa``)
for a passkey sign-in.

**Sign count.** An authenticator that counts must count up. A response whose count is not
above the stored one (both not zero) comes from a cloned key, or is a replay: it is refused
and recorded as ``mfa.passkey_sign_count_regressed``. The count is updated atomically with the
credential's ``revision`` (``flows.update_data``)."""
from __future__ import annotations

from ...extensions import db
from ...i18n import _l
from ...models import Authenticator
from ...services.audit import record_event
from ..base import CredentialDescription, Factor, FactorError
from . import ceremonies
from .ceremonies import CeremonyFailed

DEFAULT_NAME = "Passkey"


def methods_of(data: dict, *, user_verified: bool) -> tuple[str, ...]:
    """RFC 8176 methods of a passkey assertion (see the module docstring)."""
    key = "swk" if data.get("backup_eligible") else "hwk"
    return (key, "user") if user_verified else (key,)


def find_passkey(user, credential_id: str | None):
    """The user's active passkey with this credential id, if any."""
    if not credential_id:
        return None
    from ..flows import credentials_of

    for row in credentials_of(user, kind="webauthn"):
        if (row.data or {}).get("credential_id") == credential_id:
            return row
    return None


def record_assertion(realm, user, row, verified) -> bool:
    """Store the new sign count and backup state; False (and an audit event) when the count
    went backwards, or when another request used this credential at the same moment."""
    from ..flows import update_data

    new_count = int(verified.new_sign_count)
    regressed = []

    def change(data):
        stored = int(data.get("sign_count") or 0)
        if (new_count or stored) and new_count <= stored:
            regressed.append(stored)
            return None
        data["sign_count"] = new_count
        data["backup_state"] = bool(verified.credential_backed_up)
        return data

    if update_data(row, change):
        return True
    if regressed:
        record_event("mfa.passkey_sign_count_regressed", realm=realm, user=user, device=row.name,
                     stored_sign_count=regressed[0], received_sign_count=new_count)
        db.session.commit()
    return False


def verify_passkey(realm, user, row, credential, challenge: bytes):
    """The verified assertion of ``row`` (signature, RP id, origin, user verification as the
    realm says, sign count), or None."""
    try:
        verified = ceremonies.verify_assertion(realm, credential, challenge, row.data)
    except CeremonyFailed:
        return None
    if not record_assertion(realm, user, row, verified):
        return None
    return verified


class WebauthnFactor(Factor):
    kind = "webauthn"
    amr = ("hwk",)
    response_field = "credential"
    browser_enrolment = True
    label = _l("Passkey")
    plural_label = _l("Passkeys and security keys")
    choice_label = _l("Use your passkey")
    choice_description = _l("Use your fingerprint, face, screen lock or security key.")
    enrol_label = _l("Add a passkey or security key")
    enrol_description = _l("Use your fingerprint, face, screen lock or a security key instead of a code.")
    add_label = _l("Add a passkey or security key")
    added_message = _l("Passkey '%(name)s' is set up.")
    wrong_response_message = _l("That passkey could not be verified. Try again, or use another method.")
    exhausted_message = wrong_response_message
    default_name = DEFAULT_NAME
    offer_label = _l("Create a passkey for faster sign-in")
    offer_description = _l("Next time, sign in with your fingerprint, face or screen lock: no password and no "
                           "code to type.")

    def init_app(self, app):
        from . import views

        views.init_app(app)

    # --- enrolment -------------------------------------------------------------------------

    def begin_enrolment(self, user, fields):
        name = (fields.get("name") or "").strip() or DEFAULT_NAME
        if len(name) > 100:
            raise FactorError(str(_l("Device name must be at most 100 characters.")), field="name")
        row = Authenticator(user_id=user.id, kind=self.kind, name=name, state="pending", data={}, revision=0)
        row.user = user
        db.session.add(row)
        db.session.flush()
        return row

    def enrolment_context(self, challenge):
        """New creation options (a fresh challenge, bound to this pending credential)."""
        from ..flows import credentials_of

        value = ceremonies.issue_challenge(challenge.realm, challenge.user, challenge.binding, purpose="enrol")
        options = ceremonies.registration_options(challenge.realm, challenge.user, value,
                                                  credentials_of(challenge.user, kind=self.kind))
        db.session.commit()
        return {"options_json": options}

    def complete_enrolment(self, challenge, response):
        try:
            credential = ceremonies.parse_response(response.get("credential"))
            value = ceremonies.claim_challenge(challenge.user, challenge.binding, credential)
            data = ceremonies.verify_registration(challenge.realm, credential, value)
        except CeremonyFailed:
            return False
        if find_passkey(challenge.user, data["credential_id"]) is not None:
            return False
        pending = challenge.authenticator
        pending.data = data
        name = (response.get("name") or "").strip()
        if name:
            pending.name = name[:100]
        return True

    # --- login -----------------------------------------------------------------------------

    def offers_after_login(self, txn):
        """After a password and another second factor, to a user of a realm that asks for it who
        holds no passkey and was not offered one before."""
        from ..flows import credentials_of
        from ..login_state import mfa_state

        realm, user = txn.realm, txn.user
        return (bool(realm.passkey_offer_after_login) and self.enabled(realm) and user.factor_offer_seen_at is None
                and "pwd" in (txn.amr or []) and mfa_state(txn).get("verified") not in (None, self.kind)
                and not credentials_of(user, kind=self.kind))

    def usable(self, authenticator):
        return bool((authenticator.data or {}).get("public_key"))

    def context(self, challenge):
        """Request options for the user's passkeys, with a fresh challenge bound to the login."""
        from ..flows import usable_credentials

        value = ceremonies.issue_challenge(challenge.realm, challenge.user, challenge.binding, purpose="login")
        options = ceremonies.authentication_options(challenge.realm, value,
                                                    usable_credentials(self, challenge.user))
        db.session.commit()
        return {"options_json": options}

    def verify(self, challenge, response):
        try:
            credential = ceremonies.parse_response(response.get("credential"))
        except CeremonyFailed:
            return None
        row = find_passkey(challenge.user, ceremonies.credential_id_in(credential))
        try:
            value = ceremonies.claim_challenge(challenge.user, challenge.binding, credential)
        except CeremonyFailed:
            return None
        if row is None or not self.usable(row):
            return None
        verified = verify_passkey(challenge.realm, challenge.user, row, credential, value)
        if verified is None:
            return None
        row.verified_methods = methods_of(row.data, user_verified=verified.user_verified)
        return row

    def methods(self, authenticator) -> tuple[str, ...]:
        data = authenticator.data or {}
        return getattr(authenticator, "verified_methods", None) or methods_of(
            data, user_verified=bool(data.get("user_verified")))

    # --- lists -----------------------------------------------------------------------------

    def describe(self, authenticator):
        data = authenticator.data or {}
        synced = bool(data.get("backup_eligible"))
        return CredentialDescription(
            id=authenticator.id, kind=self.kind, kind_label=str(self.label), name=authenticator.name,
            state=authenticator.state, detail=str(_l("Synced") if synced else _l("This device only")),
            created_at=authenticator.created_at, last_used_at=authenticator.last_used_at,
            fields={"synced": synced, "backup_eligible": synced, "backup_state": bool(data.get("backup_state")),
                    "aaguid": data.get("aaguid"), "transports": list(data.get("transports") or [])})

    def display_name(self, authenticator):
        return authenticator.name

    # --- forms -----------------------------------------------------------------------------

    def verify_form(self, **kwargs):
        from .forms import PasskeyForm

        return PasskeyForm(**kwargs)

    def enrol_form(self, pending, **kwargs):
        from .forms import PasskeySetupForm

        return PasskeySetupForm(**kwargs)
