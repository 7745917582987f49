"""Authenticator apps (TOTP, RFC 6238 via pyotp). A device is pending until its first valid
code (authrocket-2fa.txt); the secret is encrypted at rest; a code already used for a device
is rejected (replay) and logged as a security event."""
from __future__ import annotations

import time

import pyotp

from ..extensions import db
from ..i18n import _, _l
from ..models import Authenticator, utcnow
from ..security import decrypt, encrypt
from ..services import ServiceError
from ..services.audit import record_event
from .base import Factor, normalize_code

DEFAULT_DEVICE_NAME = "Authenticator"
VALID_WINDOW = 1


def provisioning_uri(realm, user, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=realm.display_name)


def active_devices(user) -> list[Authenticator]:
    return list(db.session.scalars(
        db.select(Authenticator).filter_by(user_id=user.id, kind="totp", state="active").order_by(Authenticator.id)
    ))


def begin_totp_enrolment(user, name: str | None = None) -> tuple[Authenticator, str]:
    """A new pending device and its secret; any older pending device of the user is dropped."""
    name = (name or "").strip() or DEFAULT_DEVICE_NAME
    if len(name) > 100:
        raise ServiceError(_("Device name must be at most 100 characters."), field="name")
    db.session.execute(db.delete(Authenticator).where(Authenticator.user_id == user.id,
                                                      Authenticator.kind == "totp",
                                                      Authenticator.state == "pending"))
    secret = pyotp.random_base32()
    device = Authenticator(user_id=user.id, kind="totp", name=name, state="pending",
                           secret_encrypted=encrypt(secret), last_used_step=0)
    db.session.add(device)
    db.session.flush()
    return device, secret


def device_secret(device: Authenticator) -> str:
    return decrypt(device.secret_encrypted)


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    code = normalize_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = totp.timecode(_dt(now))
    match = None
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = current + offset
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            match = step
    return match


def _dt(timestamp: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)


def _claim_step(device: Authenticator, step: int) -> bool:
    """Record the step as used unless this or a later step already was (atomic: no replay
    even when two requests race)."""
    claimed = db.session.execute(
        db.update(Authenticator)
        .where(Authenticator.id == device.id, Authenticator.last_used_step < step)
        .values(last_used_step=step, last_used_at=utcnow())
    ).rowcount
    return claimed == 1


def activate_totp(user, device: Authenticator, code: str, *, name: str | None = None) -> bool:
    if device.user_id != user.id or device.state != "pending":
        return False
    step = _matching_step(device_secret(device), code)
    if step is None or not _claim_step(device, step):
        return False
    device.state = "active"
    device.activated_at = utcnow()
    user.mfa_enabled = True
    if name and name.strip():
        device.name = name.strip()[:100]
    record_event("mfa.device_added", realm=user.realm, user=user, device=device.name)
    return True


def verify_totp(user, code: str) -> Authenticator | None:
    """The active device that accepts ``code`` now, or None. A code reused on its device is
    refused and recorded as a security event."""
    for device in active_devices(user):
        step = _matching_step(device_secret(device), code)
        if step is None:
            continue
        if _claim_step(device, step):
            return device
        record_event("mfa.totp_replayed", realm=user.realm, user=user, device=device.name)
        db.session.commit()
        return None
    return None


def rename_device(device: Authenticator, name: str) -> None:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError(_("Device name must be 1-100 characters."), field="name")
    device.name = name


def remove_device(user, device: Authenticator) -> None:
    if device.user_id != user.id:
        raise ServiceError(_("That device does not belong to this account."))
    record_event("mfa.device_removed", realm=user.realm, user=user, device=device.name)
    db.session.delete(device)


def secret_for_display(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


class TotpFactor(Factor):
    kind = "totp"
    amr = ("otp",)
    choice_label = _l("Use an authenticator app")
    choice_description = _l("Get codes from an app such as Google Authenticator or Microsoft Authenticator.")

    def enabled(self, realm):
        return realm.totp_enabled

    def enrolled(self, user):
        return bool(active_devices(user))

    def verify(self, challenge, code):
        return verify_totp(challenge.user, code) is not None


