"""Codes texted to the user's phone. A user has one phone (``single``): a credential of kind
"sms" whose data is ``{"phone": E.164, "verified": bool, "set_by_admin": bool}``. A phone an
administrator set is usable at once and counts as verified from its first right code; the user
cannot replace it themselves. A phone the user types is pending until a code sent to it comes
back."""
from __future__ import annotations

from ...extensions import db
from ...i18n import _, _l
from ...models import Authenticator, utcnow
from ...services.audit import record_event
from ...services.phones import mask_phone, parse_phone
from ..base import AlreadyEnrolled, CredentialDescription, Factor, FactorError
from ..codes import code_exhausted, enrolment_wait_seconds, latest_code, resend_wait_seconds, verify_code
from .sending import send_sms_code

DEFAULT_NAME = "Phone"


def phone_credential(user) -> Authenticator | None:
    """The user's phone on record (active), if any."""
    return db.session.scalar(db.select(Authenticator).filter_by(user_id=user.id, kind="sms", state="active")
                             .order_by(Authenticator.created_at.desc()))


def phone_on_record(user) -> str | None:
    row = phone_credential(user)
    return row.data.get("phone") if row is not None else None


def phone_verified(user) -> bool:
    row = phone_credential(user)
    return bool(row is not None and row.data.get("verified"))


def admin_set_phone(user, raw_phone: str) -> None:
    """roq-mfa.txt "User Details": an administrator sets (or, with "", removes) the phone. It
    is usable at once, unverified until its first code, and the user cannot swap it. The
    user's MFA flag is the administrator's other switch, so it is left as it is."""
    from ..flows import remove

    current = phone_credential(user)
    if raw_phone == "":
        if current is not None:
            flag = user.mfa_enabled
            remove(current, by="admin")
            user.mfa_enabled = flag
        return
    phone = parse_phone(raw_phone, allowed_countries=user.realm.sms_allowed_countries or None)
    if current is not None and current.data.get("phone") == phone:
        current.data = {**current.data, "set_by_admin": True}
    else:
        if current is not None:
            db.session.delete(current)
        row = Authenticator(user_id=user.id, kind="sms", name=DEFAULT_NAME, state="active", activated_at=utcnow(),
                            data={"phone": phone, "verified": False, "set_by_admin": True}, revision=0)
        row.user = user
        db.session.add(row)
    db.session.flush()
    record_event("mfa.phone_changed", realm=user.realm, user=user, by="admin")


class SmsFactor(Factor):
    kind = "sms"
    amr = ("sms",)
    single = True
    resendable = True
    enrolment_needs_input = True
    label = _l("Phone")
    plural_label = _l("Phone")
    choice_label = _l("Text me a code")
    choice_description = _l("We'll send a 6-digit code to your phone.")
    enrol_label = _l("Text me a code")
    enrol_description = _l("We'll send a 6-digit code to your phone.")
    add_label = _l("Add phone number")
    added_message = _l("Your phone number was verified.")
    removed_event = "mfa.phone_removed"
    default_name = DEFAULT_NAME

    # --- enrolment -------------------------------------------------------------------------

    def self_enrolment_refused(self, user):
        current = phone_credential(user)
        if current is not None and current.data.get("set_by_admin"):
            return _("This number was set by your administrator. Contact them to change it.")
        return None

    def begin_enrolment(self, user, fields):
        raw = fields.get("phone")
        if not raw:
            raise FactorError(_("A phone number is required for an SMS credential."), field="phone")
        try:
            number = parse_phone(raw, allowed_countries=user.realm.sms_allowed_countries or None)
        except Exception as error:  # ServiceError: the message says what is wrong with the number
            raise FactorError(getattr(error, "message", str(error)), field="phone") from None
        current = phone_credential(user)
        if current is not None and current.data.get("phone") == number and current.data.get("verified"):
            raise AlreadyEnrolled(_("This phone number is already verified for this account."), field="phone")
        name = (fields.get("name") or "").strip() or DEFAULT_NAME
        if len(name) > 100:
            raise FactorError(_("Name must be at most 100 characters."), field="name")
        row = Authenticator(user_id=user.id, kind=self.kind, name=name, state="pending",
                            data={"phone": number, "verified": False, "set_by_admin": False}, revision=0)
        row.user = user
        db.session.add(row)
        db.session.flush()
        return row

    def enrolment_input(self, pending):
        return {"phone": pending.data.get("phone")}

    def deliver_enrolment(self, challenge):
        """The cool-down counts per number across the user's enrolments (each has its own
        binding), so starting again with the same number does not text it at once."""
        phone = challenge.authenticator.data["phone"]
        wait = enrolment_wait_seconds(challenge.user, phone)
        if wait:
            raise FactorError(_("Wait %(seconds)s seconds before requesting another code.", seconds=wait),
                              retry_after=wait, field="phone")
        send_sms_code(challenge, phone, purpose="enrol")

    def enrolment_context(self, challenge):
        phone = challenge.authenticator.data["phone"]
        return {"phone": phone, "destination": mask_phone(phone),
                "resend_wait_seconds": resend_wait_seconds(challenge, self.kind, phone)}

    def complete_enrolment(self, challenge, response):
        pending = challenge.authenticator
        return verify_code(challenge, response.get("code") or "", factor=self.kind, destination=pending.data["phone"])

    def on_activate(self, authenticator):
        user = authenticator.user
        if not authenticator.data.get("set_by_admin"):
            authenticator.data = {**authenticator.data, "verified": True}
            record_event("mfa.phone_changed", realm=user.realm, user=user, by="user")

    # --- login -----------------------------------------------------------------------------

    def _phone(self, challenge):
        row = phone_credential(challenge.user)
        return row, (row.data.get("phone") if row is not None else None)

    def begin(self, challenge, *, resend=False):
        _row, phone = self._phone(challenge)
        send_sms_code(challenge, phone)
        return self.context(challenge)

    def context(self, challenge):
        row, phone = self._phone(challenge)
        return {"destination": mask_phone(phone), "resend_wait_seconds": resend_wait_seconds(challenge, self.kind, phone),
                "set_by_admin": bool(row is not None and row.data.get("set_by_admin"))}

    def started(self, challenge):
        return latest_code(challenge, self.kind) is not None

    def verify(self, challenge, response):
        from ..flows import update_data

        row, phone = self._phone(challenge)
        if row is None or not verify_code(challenge, response.get("code") or "", factor=self.kind, destination=phone):
            return None
        if not row.data.get("verified"):
            update_data(row, lambda data: {**data, "verified": True})
        return row

    def exhausted(self, challenge):
        return code_exhausted(challenge, self.kind)

    # --- lists and forms -------------------------------------------------------------------

    def describe(self, authenticator):
        data = authenticator.data or {}
        return CredentialDescription(
            id=authenticator.id, kind=self.kind, kind_label=str(self.label), name=authenticator.name,
            state=authenticator.state, detail=mask_phone(data.get("phone")), created_at=authenticator.created_at,
            last_used_at=authenticator.last_used_at,
            fields={"phone": data.get("phone"), "phone_verified": bool(data.get("verified"))})

    def renamable(self, authenticator):
        return False

    # --- import and export -----------------------------------------------------------------

    portable = True

    def export_credential(self, authenticator):
        data = authenticator.data or {}
        return {"type": self.kind, "phone": data.get("phone"), "verified": bool(data.get("verified"))}

    def check_import(self, realm, entry):
        """``{"type": "sms", "phone": "+14155550100", "verified": true}``: the number as
        ``phonenumbers`` reads it (a mobile number, in the realm's allowed countries). An
        unverified number is kept as an administrator's (usable, verified by its first code)."""
        raw = entry.get("phone")
        if not isinstance(raw, str):
            raise FactorError("an sms factor needs its 'phone' in international format", field="phone")
        try:
            phone = parse_phone(raw, allowed_countries=realm.sms_allowed_countries or None)
        except Exception as error:  # ServiceError: the message says what is wrong with the number
            raise FactorError(getattr(error, "message", str(error)), field="phone") from None
        verified = entry.get("verified", False)
        if not isinstance(verified, bool):
            raise FactorError("sms 'verified' must be true or false", field="verified")
        return {"phone": phone, "verified": verified}

    def restore_credential(self, user, checked):
        row = Authenticator(user_id=user.id, kind=self.kind, name=DEFAULT_NAME, state="active", activated_at=utcnow(),
                            data={"phone": checked["phone"], "verified": checked["verified"],
                                  "set_by_admin": not checked["verified"]}, revision=0)
        row.user = user
        db.session.add(row)
        return row

    def verify_form(self, **kwargs):
        from ..forms import CodeForm

        return CodeForm(**kwargs)

    def enrol_form(self, pending, **kwargs):
        from ..forms import CodeForm, PhoneForm

        return PhoneForm(**kwargs) if pending is None else CodeForm(**kwargs)
