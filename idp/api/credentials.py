"""Credentials of a user as the management API shows them (authrocket-2fa.txt, "Enrollment via
the AuthRocket API"): each second factor the user holds or is enrolling.

Identifiers are strings that say what they name:

- ``totp_<n>``: an authenticator-app device (an ``Authenticator`` row), pending until the
  first valid code, then active;
- ``sms_<n>``: a phone number being enrolled (an ``Authenticator`` row of kind "sms" holding
  the encrypted number), pending until a code sent to it comes back;
- ``phone``: the user's phone on record, however it was set (this API, the hosted pages, or
  an administrator), always active. A verified ``sms_<n>`` becomes the ``phone`` credential.

A user has at most one pending device and one pending phone at a time; starting another
replaces it (as the hosted pages do)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..extensions import db
from ..mfa import attempts
from ..mfa.base import Challenge
from ..mfa.sms import code_exhausted, send_sms_code, verify_sms_code
from ..mfa.totp import activate_totp, begin_totp_enrolment, device_secret, provisioning_uri, remove_device
from ..models import Authenticator, utcnow
from ..security import decrypt, encrypt
from ..services import NotFound, ServiceError
from ..services.audit import record_event
from ..services.mfa_users import admin_set_phone
from ..services.phones import parse_phone
from .errors import ApiError

CREDENTIAL_TYPES = ("totp", "sms")
PHONE_ID = "phone"
DEFAULT_PHONE_NAME = "Phone"


class CredentialConflict(ApiError):
    def __init__(self, description: str):
        super().__init__(409, "credential_already_active", description)


@dataclass
class Credential:
    """One factor of a user: an ``Authenticator`` row, or (``row`` None) the phone on record."""

    user: object
    credential_type: str
    row: Authenticator | None = None

    @property
    def id(self) -> str:
        return PHONE_ID if self.row is None else f"{self.row.kind}_{self.row.id}"

    @property
    def state(self) -> str:
        return "active" if self.row is None else self.row.state

    @property
    def phone(self) -> str | None:
        if self.credential_type != "sms":
            return None
        return self.user.phone if self.row is None else decrypt(self.row.secret_encrypted)

    def otp_secret(self) -> str | None:
        """The base32 secret of a pending device (for the QR code or manual entry); never
        handed out again once the device is active."""
        if self.credential_type == "totp" and self.state == "pending":
            return device_secret(self.row)
        return None

    def provisioning_uri(self) -> str | None:
        secret = self.otp_secret()
        return provisioning_uri(self.user.realm, self.user, secret) if secret else None


def _phone_on_record(user) -> bool:
    return bool(user.phone) and (user.phone_verified or user.phone_set_by_admin)


def list_credentials(user) -> list[Credential]:
    rows = db.session.scalars(
        db.select(Authenticator).filter(Authenticator.user_id == user.id, Authenticator.kind.in_(CREDENTIAL_TYPES))
        .order_by(Authenticator.id)
    )
    credentials = [Credential(user, row.kind, row) for row in rows]
    if _phone_on_record(user):
        credentials.append(Credential(user, "sms"))
    return credentials


def find_credential(user, credential_id: str) -> Credential:
    missing = NotFound(f"credential '{credential_id[:80]}' does not exist for this user")
    if credential_id == PHONE_ID:
        if not _phone_on_record(user):
            raise missing
        return Credential(user, "sms")
    kind, _, number = credential_id.partition("_")
    if kind not in CREDENTIAL_TYPES or not number.isascii() or not number.isdigit() or len(number) > 9:
        raise missing
    row = db.session.get(Authenticator, int(number))
    if row is None or row.user_id != user.id or row.kind != kind:
        raise missing
    return Credential(user, kind, row)


def create_credential(user, *, credential_type: str, name: str | None = None, phone: str | None = None) -> Credential:
    """A pending credential: a new authenticator-app secret, or a phone number to verify."""
    realm = user.realm
    if credential_type == "totp":
        if not realm.totp_enabled:
            raise ServiceError("Authenticator apps (TOTP) are not enabled in this realm.", field="credential_type")
        device, _secret = begin_totp_enrolment(user, name)
        return Credential(user, "totp", device)
    if credential_type == "sms":
        if not realm.sms_enabled:
            raise ServiceError("SMS codes are not enabled in this realm.", field="credential_type")
        if phone is None:
            raise ServiceError("A phone number is required for an SMS credential.", field="phone")
        number = parse_phone(phone, allowed_countries=realm.sms_allowed_countries or None)
        if user.phone == number and user.phone_verified:
            raise CredentialConflict("This phone number is already verified for this user.")
        name = (name or "").strip() or DEFAULT_PHONE_NAME
        if len(name) > 100:
            raise ServiceError("Name must be at most 100 characters.", field="name")
        db.session.execute(db.delete(Authenticator).where(
            Authenticator.user_id == user.id, Authenticator.kind == "sms", Authenticator.state == "pending"))
        row = Authenticator(user_id=user.id, kind="sms", name=name, state="pending",
                            secret_encrypted=encrypt(number), last_used_step=0, created_at=utcnow())
        db.session.add(row)
        db.session.flush()
        return Credential(user, "sms", row)
    raise ServiceError(f"credential_type must be one of: {', '.join(CREDENTIAL_TYPES)}.", field="credential_type")


def _sms_challenge(credential: Credential) -> Challenge:
    """SMS codes for an enrolment are bound to that pending credential, not to any login."""
    return Challenge(realm=credential.user.realm, user=credential.user, binding=f"api-credential:{credential.row.id}",
                     phone=credential.phone)


def send_verification_code(credential: Credential) -> None:
    """Text a code to a pending phone (same caps and cool-down as the hosted pages)."""
    _require_pending(credential)
    if credential.credential_type != "sms":
        raise ServiceError("Authenticator apps make their own codes; send the code shown in the app.", field="code")
    send_sms_code(_sms_challenge(credential), purpose="enrol")


def _require_pending(credential: Credential) -> None:
    if credential.state != "pending":
        raise CredentialConflict("This credential is already active.")


def locked_error(seconds: int) -> ApiError:
    minutes = max(1, (seconds + 59) // 60)
    return ApiError(429, "mfa_locked", f"Too many wrong codes for this account. Try again in {minutes} minutes.",
                    headers={"Retry-After": str(seconds)}, retry_after=seconds)


def claim_attempt(user) -> None:
    """Count this attempt before its code is checked (``mfa.attempts``, the same per-account
    lock as the hosted flow); 429 while the account is locked."""
    seconds = attempts.claim_attempt(user)
    if seconds:
        raise locked_error(seconds)


def wrong_code(user, factor: str, description: str) -> ApiError:
    """The claimed attempt failed: say how many attempts are left, or that the account is now
    locked."""
    attempts.record_failure(user, factor=factor)
    seconds = attempts.locked_for_seconds(user)
    if seconds:
        return locked_error(seconds)
    left = max(0, current_app.extensions["idp.settings"].mfa.max_failed_attempts - user.failed_mfa_attempts)
    return ApiError(400, "invalid_code", description, fields={"code": description}, attempts_left=left)


def verify_credential(credential: Credential, code: str) -> Credential:
    """Activate a pending credential with its first valid code; the active credential."""
    _require_pending(credential)
    user = credential.user
    claim_attempt(user)
    if credential.credential_type == "totp":
        if not activate_totp(user, credential.row, code):
            raise wrong_code(user, "totp", "That code is not right. Check the time on the device and try again.")
        attempts.record_success(user, factor="totp")
        return credential
    challenge = _sms_challenge(credential)
    if not verify_sms_code(challenge, code):
        message = ("This code can no longer be used. Request a new code." if code_exhausted(challenge)
                   else "That code is not right. Check it and try again.")
        raise wrong_code(user, "sms", message)
    previous = user.phone
    user.phone, user.phone_verified, user.phone_set_by_admin = credential.phone, True, False
    user.mfa_enabled = True
    attempts.record_success(user, factor="sms")
    record_event("mfa.phone_changed", realm=user.realm, user=user, by="api", had_phone=bool(previous))
    db.session.delete(credential.row)
    return Credential(user, "sms")


def delete_credential(credential: Credential) -> None:
    user = credential.user
    if credential.row is None:
        admin_set_phone(user, "")
    elif credential.credential_type == "totp":
        remove_device(user, credential.row)
    else:
        db.session.delete(credential.row)
