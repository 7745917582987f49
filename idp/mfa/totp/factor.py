"""Authenticator apps (TOTP, RFC 6238 via pyotp). A credential is pending until its first valid
code (authrocket-2fa.txt); the secret is encrypted at rest (``data["secret"]``); a code's time
step, once used, is recorded (``data["last_used_step"]``) so the same or an earlier code is
refused on that credential (replay), and logged as a security event."""
from __future__ import annotations

import datetime as dt
import time

import re

import pyotp

from ...extensions import db
from ...i18n import _, _l
from ...models import Authenticator, utcnow
from ...security import decrypt, encrypt
from ...services.audit import record_event
from ..base import Factor, FactorError, normalize_code
from ..qr import build_totp_svg

VALID_WINDOW = 1
BASE32 = re.compile(r"^[A-Z2-7]+$")


def provisioning_uri(realm, user, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=realm.display_name)


def credential_secret(authenticator: Authenticator) -> str:
    return decrypt(authenticator.data["secret"])


def secret_for_display(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    code = normalize_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = totp.timecode(dt.datetime.fromtimestamp(now, tz=dt.timezone.utc))
    match = None
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = current + offset
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            match = step
    return match


def claim_step(authenticator: Authenticator, step: int, *, used: bool = False) -> bool:
    """Record ``step`` as used unless it or a later one already was (atomic: no replay even
    when two requests race). ``used``: a login's verification, which records the credential's
    use in the same statement (``update_data``)."""
    from ..flows import update_data

    def change(data):
        if int(data.get("last_used_step", 0)) >= step:
            return None
        data["last_used_step"] = step
        return data

    return update_data(authenticator, change, used=used)


class TotpFactor(Factor):
    kind = "totp"
    amr = ("otp",)
    operator_enrolment = True
    label = _l("Authenticator app")
    plural_label = _l("Authenticator apps")
    choice_label = _l("Use an authenticator app")
    choice_description = _l("Get codes from an app such as Google Authenticator or Microsoft Authenticator.")
    enrol_label = _l("Use an authenticator app")
    enrol_description = _l("Get codes from an app such as Google Authenticator or Microsoft Authenticator.")
    add_label = _l("Set up authenticator app")
    added_message = _l("Authenticator app '%(name)s' is set up.")
    added_event = "mfa.device_added"
    removed_event = "mfa.device_removed"
    default_name = "Authenticator"
    wrong_response_message = _l("That code is not right. Check the time on your phone and try again.")

    def begin_enrolment(self, user, fields):
        name = (fields.get("name") or "").strip() or self.default_name
        if len(name) > 100:
            raise FactorError(_("Device name must be at most 100 characters."), field="name")
        secret = pyotp.random_base32()
        row = Authenticator(user_id=user.id, kind=self.kind, name=name, state="pending",
                            data={"secret": encrypt(secret), "last_used_step": 0}, revision=0)
        row.user = user
        db.session.add(row)
        db.session.flush()
        return row

    def enrolment_context(self, challenge):
        secret = credential_secret(challenge.authenticator)
        uri = provisioning_uri(challenge.realm, challenge.user, secret)
        return {"qr_svg": build_totp_svg(uri), "secret_display": secret_for_display(secret), "otp_secret": secret,
                "provisioning_uri": uri}

    def complete_enrolment(self, challenge, response):
        pending = challenge.authenticator
        step = matching_step(credential_secret(pending), response.get("code") or "")
        if step is None or not claim_step(pending, step):
            return False
        name = (response.get("name") or "").strip()
        if name:
            pending.name = name[:100]
        return True

    def verify(self, challenge, response):
        """The active credential that accepts the code now. A code reused on its credential is
        refused and recorded as a security event."""
        from ..flows import usable_credentials

        code = response.get("code") or ""
        for row in usable_credentials(self, challenge.user):
            step = matching_step(credential_secret(row), code)
            if step is None:
                continue
            if claim_step(row, step, used=True):
                return row
            record_event("mfa.totp_replayed", realm=challenge.realm, user=challenge.user, device=row.name)
            db.session.commit()
            return None
        return None

    def enrol_form(self, pending, **kwargs):
        from ..forms import TotpSetupForm

        return TotpSetupForm(**kwargs)

    # --- import and export -----------------------------------------------------------------

    portable = True

    def export_credential(self, authenticator):
        return {"type": self.kind, "name": authenticator.name, "secret": credential_secret(authenticator)}

    def check_import(self, realm, entry):
        """``{"type": "totp", "secret": BASE32, "name": optional}``; only the parameters codes are
        checked with here (6 digits, 30 seconds, SHA1), which are what authenticator apps use."""
        secret = entry.get("secret")
        if not isinstance(secret, str):
            raise FactorError("a totp factor needs its 'secret' (base32)")
        secret = "".join(secret.split()).upper().rstrip("=")
        if not 16 <= len(secret) <= 128 or not BASE32.match(secret):
            raise FactorError("the totp secret must be 16 to 128 base32 characters (A-Z, 2-7)")
        for key, default in (("digits", 6), ("period", 30), ("algorithm", "SHA1")):
            if entry.get(key, default) not in (default, str(default)):
                raise FactorError(f"totp {key} must be {default}")
        name = entry.get("name") or self.default_name
        if not isinstance(name, str) or len(name.strip()) > 100 or not name.strip():
            raise FactorError("the totp factor's name must be 1-100 characters")
        return {"secret": secret, "name": name.strip()}

    def restore_credential(self, user, checked):
        row = Authenticator(user_id=user.id, kind=self.kind, name=checked["name"], state="active",
                            activated_at=utcnow(), data={"secret": encrypt(checked["secret"]), "last_used_step": 0},
                            revision=0)
        row.user = user
        db.session.add(row)
        return row
