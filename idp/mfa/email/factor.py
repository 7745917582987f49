"""Codes mailed to the account's address: the same one-time-code rules as text messages
(``idp.mfa.codes``: six digits, ``mfa.otp_lifetime``, ``mfa.otp_max_attempts`` tries per code,
``mfa.resend_cooldown``) and the same per-account caps (``mfa.sms_per_account_per_hour`` and
``_per_day``, per address), counted in the shared rate-limit storage.

A user holds one email credential (``single``), ``data = {"address": ...}``: the address the
enrolment code reached. It verifies only while that is still the account's address, so a
changed address must be proven again. RFC 8176 has no method for mail; a code mailed to the
user is a one-time password (``otp``)."""
from __future__ import annotations

from flask import current_app

from ...extensions import db
from ...i18n import _, _l
from ...models import Authenticator
from ...security import keyed_digest
from ...services.audit import record_event
from ..base import CredentialDescription, Factor, FactorError
from ..codes import code_exhausted, issue_code, latest_code, resend_wait_seconds, verify_code

DEFAULT_NAME = "Email"


def mask_address(address: str | None) -> str | None:
    """``a•••e@example.com``: enough for its owner to recognise, little for anyone else."""
    if not address or "@" not in address:
        return None
    local, _, domain = address.rpartition("@")
    shown = local[0] + "•••" + (local[-1] if len(local) > 2 else "")
    return f"{shown}@{domain}"


def _may_mail_code(address: str, realm, settings) -> bool:
    """The per-account caps of texted codes (``mfa.sms_per_account_per_hour`` / ``_per_day``)
    count mailed codes too, per address, in the shared rate-limit storage."""
    from limits import RateLimitItemPerDay, RateLimitItemPerHour

    from ...ratelimit import limiter

    if not limiter.enabled:
        return True
    key = keyed_digest(f"mfa-email:{realm.id}:{address.lower()}")
    return (limiter.limiter.hit(RateLimitItemPerHour(settings.sms_per_account_per_hour), "idp-mfa-email-code", key)
            and limiter.limiter.hit(RateLimitItemPerDay(settings.sms_per_account_per_day), "idp-mfa-email-code", key))


def _send_code(challenge, address: str, *, purpose: str) -> None:
    """Issue a code for the binding and mail it once the database work commits."""
    from ...mail.compose import MailMessage
    from ...mail.delivery import deliver_after_commit
    from ...themes import active_theme, render_theme_template

    wait = resend_wait_seconds(challenge, "email", address)
    if wait:
        raise FactorError(_("Wait %(seconds)s seconds before requesting another code.", seconds=wait),
                          retry_after=wait)
    settings = current_app.extensions["idp.settings"].mfa
    db.session.commit()  # the mail counters may live in this database: hold no write lock while counting
    if not _may_mail_code(address, challenge.realm, settings):
        raise FactorError(_("Too many codes were mailed to this address today. Try again tomorrow, or use "
                            "another method."), retry_after=settings.resend_cooldown)
    _row, code = issue_code(challenge, factor="email", destination=address, purpose=purpose)
    realm = challenge.realm
    context = {"realm": realm, "code": code, "minutes": settings.otp_lifetime // 60}
    theme = active_theme(realm)
    message = MailMessage(
        to=address,
        subject=" ".join(render_theme_template("mfa/email/code_subject.txt", theme=theme, **context).split()),
        text=render_theme_template("mfa/email/code_message.txt", theme=theme, **context).strip() + "\n",
        html=render_theme_template("mfa/email/code_message.html", theme=theme, **context),
        sender_name=realm.display_name)
    record_event("mfa.challenge_sent", realm=realm, user=challenge.user, factor="email",
                 address=mask_address(address))
    deliver_after_commit(message)
    db.session.commit()


class EmailFactor(Factor):
    kind = "email"
    amr = ("otp",)
    single = True
    resendable = True
    label = _l("Email")
    plural_label = _l("Email")
    choice_label = _l("Email me a code")
    choice_description = _l("We'll send a 6-digit code to your email address.")
    enrol_label = _l("Email me a code")
    enrol_description = _l("We'll send a 6-digit code to your email address.")
    add_label = _l("Get codes by email")
    added_message = _l("Codes by email are set up.")
    default_name = DEFAULT_NAME

    # --- enrolment -------------------------------------------------------------------------

    def begin_enrolment(self, user, fields):
        row = Authenticator(user_id=user.id, kind=self.kind, name=DEFAULT_NAME, state="pending",
                            data={"address": user.email}, revision=0)
        row.user = user
        db.session.add(row)
        db.session.flush()
        return row

    def deliver_enrolment(self, challenge):
        _send_code(challenge, challenge.authenticator.data["address"], purpose="enrol")

    def enrolment_context(self, challenge):
        address = challenge.authenticator.data["address"]
        return {"destination": mask_address(address),
                "resend_wait_seconds": resend_wait_seconds(challenge, self.kind, address)}

    def complete_enrolment(self, challenge, response):
        pending = challenge.authenticator
        if pending.data.get("address") != challenge.user.email:
            return False
        return verify_code(challenge, response.get("code") or "", factor=self.kind,
                           destination=pending.data["address"])

    # --- login -----------------------------------------------------------------------------

    def usable(self, authenticator):
        return authenticator.data.get("address") == authenticator.user.email

    def begin(self, challenge, *, resend=False):
        _send_code(challenge, challenge.user.email, purpose="login")
        return self.context(challenge)

    def context(self, challenge):
        address = challenge.user.email
        return {"destination": mask_address(address),
                "resend_wait_seconds": resend_wait_seconds(challenge, self.kind, address)}

    def started(self, challenge):
        return latest_code(challenge, self.kind) is not None

    def verify(self, challenge, response):
        from ..flows import usable_credentials

        rows = usable_credentials(self, challenge.user)
        if not rows or not verify_code(challenge, response.get("code") or "", factor=self.kind,
                                       destination=challenge.user.email):
            return None
        return rows[0]

    def exhausted(self, challenge):
        return code_exhausted(challenge, self.kind)

    # --- lists -----------------------------------------------------------------------------

    def describe(self, authenticator):
        address = (authenticator.data or {}).get("address")
        return CredentialDescription(
            id=authenticator.id, kind=self.kind, kind_label=str(self.label), name=authenticator.name,
            state=authenticator.state, detail=mask_address(address), created_at=authenticator.created_at,
            last_used_at=authenticator.last_used_at, fields={"email": address})

    def renamable(self, authenticator):
        return False
