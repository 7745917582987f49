"""SMS codes: 6 digits from ``secrets``, valid ``mfa.otp_lifetime`` seconds, stored as a salted
keyed digest, at most ``mfa.otp_max_attempts`` wrong tries per code, a resend cool-down, and
caps on messages per account and per IP, on distinct numbers and countries per IP (SMS pumping)."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets

from flask import current_app, has_request_context

from ..extensions import db
from ..i18n import _, _l
from ..models import OtpChallenge, SmsMessage, utcnow
from ..security import digests_equal
from ..services.audit import record_event
from ..services.mfa_policy import active_sms_integrations
from ..services.phones import mask_phone, phone_country
from ..sms import SmsSendError
from .base import Challenge, Factor, FactorError, normalize_code

log = logging.getLogger(__name__)


def _settings():
    return current_app.extensions["idp.settings"].mfa


def _code_digest(salt: str, code: str) -> str:
    key = current_app.config["IDP_TOKEN_HASH_KEY"].encode()
    return hmac.new(key, f"otp:{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def _client_ip() -> str | None:
    """Whom the per-IP caps count: the client's IPv4 address or IPv6 /64 (one subscriber holds
    a whole /64)."""
    from ..ratelimit import client_network

    return client_network() if has_request_context() else None


def latest_challenge(challenge: Challenge) -> OtpChallenge | None:
    return db.session.scalar(
        db.select(OtpChallenge)
        .filter_by(user_id=challenge.user.id, transaction_id=challenge.binding)
        .order_by(OtpChallenge.id.desc())
    )


def resend_wait_seconds(challenge: Challenge) -> int:
    """Seconds before another code may be sent to the same number for this login (or account
    action). A corrected number is texted at once; across numbers and logins the per-account,
    per-IP and distinct-numbers caps apply instead."""
    query = db.select(OtpChallenge.created_at).filter_by(user_id=challenge.user.id, transaction_id=challenge.binding)
    if challenge.phone:
        query = query.filter_by(phone=challenge.phone)
    last = db.session.scalar(query.order_by(OtpChallenge.id.desc()))
    if last is None:
        return 0
    elapsed = (utcnow() - last).total_seconds()
    return max(0, int(_settings().resend_cooldown - elapsed + 0.999))


def _refuse_at_cap(sent, limit: int, window: dt.timedelta, now: dt.datetime, message: str) -> None:
    """Refuse when ``sent`` (a select of SmsMessage) holds ``limit`` messages in ``window``;
    ``retry_after`` is when enough of them have aged out (pages answer 429, not 503)."""
    times = list(db.session.scalars(sent.filter(SmsMessage.sent_at > now - window).order_by(SmsMessage.sent_at)))
    if len(times) >= limit:
        frees_at = times[len(times) - limit] + window if limit > 0 else now + window
        raise FactorError(message, retry_after=max(1, int((frees_at - now).total_seconds() + 0.999)))


def check_sms_caps(realm, user, phone: str) -> None:
    """Refuse, with words, a message that would pass any cap. Counts come from the SMS log in the
    database, so they hold across workers."""
    settings = _settings()
    now = utcnow()
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    sent = db.select(SmsMessage.sent_at).filter(SmsMessage.realm_id == realm.id)
    by_account = sent.filter(SmsMessage.user_id == user.id)
    _refuse_at_cap(by_account, settings.sms_per_account_per_hour, hour, now,
                   _("Too many codes were sent to this account in the last hour. Try again later, "
                     "or use another method."))
    _refuse_at_cap(by_account, settings.sms_per_account_per_day, day, now,
                   _("Too many codes were sent to this account today. Try again tomorrow, or use another method."))
    ip = _client_ip()
    if ip:
        by_ip = sent.filter(SmsMessage.ip_address == ip)
        _refuse_at_cap(by_ip, settings.sms_per_ip_per_hour, hour, now,
                       _("Too many codes were requested from your network in the last hour. Try again later."))
        _refuse_at_cap(by_ip, settings.sms_per_ip_per_day, day, now,
                       _("Too many codes were requested from your network today. Try again tomorrow."))
        recent = db.select(SmsMessage).filter(SmsMessage.realm_id == realm.id, SmsMessage.ip_address == ip,
                                              SmsMessage.sent_at > now - day).subquery()
        numbers = set(db.session.scalars(db.select(recent.c.phone).distinct()))
        countries = set(db.session.scalars(db.select(recent.c.country).distinct()))
        oldest = db.session.scalar(db.select(db.func.min(recent.c.sent_at)))
        retry_after = max(1, int((oldest + day - now).total_seconds() + 0.999)) if oldest else None
        if phone not in numbers and len(numbers) >= settings.distinct_numbers_per_ip_per_day:
            raise FactorError(_("Codes were sent to too many different numbers from your network today. "
                                "Try again tomorrow."), retry_after=retry_after)
        country = phone_country(phone)
        if country not in countries and len(countries) >= settings.distinct_countries_per_ip_per_day:
            raise FactorError(_("Codes were sent to too many countries from your network today. Try again tomorrow."),
                              retry_after=retry_after)


def send_sms_code(challenge: Challenge, *, purpose: str = "login") -> OtpChallenge:
    """Issue a new code for ``challenge.phone`` and text it with the realm's first active
    integration. Earlier codes of the same binding stop working."""
    from ..services.sms_integrations import sender_for

    realm, user, phone = challenge.realm, challenge.user, challenge.phone
    if not phone:
        raise FactorError(_("There is no phone number to send a code to."))
    wait = resend_wait_seconds(challenge)
    if wait:
        raise FactorError(_("Wait %(seconds)s seconds before requesting another code.", seconds=wait), retry_after=wait)
    check_sms_caps(realm, user, phone)
    integrations = active_sms_integrations(realm)
    if not integrations:
        raise FactorError(_("We could not send the code: text messages are not set up for this service."))
    settings = _settings()
    code = f"{secrets.randbelow(1_000_000):06d}"
    salt = secrets.token_hex(8)
    now = utcnow()
    db.session.execute(
        db.update(OtpChallenge)
        .where(OtpChallenge.user_id == user.id, OtpChallenge.transaction_id == challenge.binding,
               OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    row = OtpChallenge(realm_id=realm.id, user_id=user.id, transaction_id=challenge.binding, purpose=purpose,
                       phone=phone, salt=salt, code_digest=_code_digest(salt, code), attempts=0, created_at=now,
                       expires_at=now + dt.timedelta(seconds=settings.otp_lifetime))
    db.session.add(row)
    integration = integrations[0]
    body = _("%(code)s is your %(realm)s verification code. It expires in %(minutes)s minutes.",
             code=code, realm=realm.display_name, minutes=settings.otp_lifetime // 60)
    message = SmsMessage(realm_id=realm.id, user_id=user.id, ip_address=_client_ip(), phone=phone,
                         country=phone_country(phone), integration_id=integration.id, sent_at=now)
    try:
        sender_for(integration).send(phone, body)
    except SmsSendError as exc:
        log.warning("SMS to %s via integration %s failed: %s", mask_phone(phone), integration.name, exc)
        db.session.rollback()
        record_event("mfa.sms_failed", realm=realm, user=user, integration=integration.name, reason=str(exc))
        db.session.commit()
        raise FactorError(_("We could not send the code. Try again in a moment, or use another method.")) from None
    db.session.add(message)
    record_event("mfa.challenge_sent", realm=realm, user=user, factor="sms", phone=mask_phone(phone))
    db.session.commit()
    return row


def verify_sms_code(challenge: Challenge, code: str) -> bool:
    """Check a code against the binding's live challenge. Each check uses up one try, claimed
    before comparing, so guesses sent together get no more tries than the code has."""
    row = latest_challenge(challenge)
    code = normalize_code(code)
    if row is None or row.consumed_at is not None or row.expires_at <= utcnow():
        return False
    if challenge.phone and row.phone != challenge.phone:
        return False
    try_claimed = db.session.execute(
        db.update(OtpChallenge)
        .where(OtpChallenge.id == row.id, OtpChallenge.consumed_at.is_(None),
               OtpChallenge.attempts < _settings().otp_max_attempts)
        .values(attempts=OtpChallenge.attempts + 1)
    ).rowcount
    db.session.commit()
    if try_claimed != 1:
        return False
    if not (len(code) == 6 and code.isdigit() and digests_equal(_code_digest(row.salt, code), row.code_digest)):
        return False
    claimed = db.session.execute(
        db.update(OtpChallenge)
        .where(OtpChallenge.id == row.id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=utcnow())
    ).rowcount
    return claimed == 1


def code_exhausted(challenge: Challenge) -> bool:
    row = latest_challenge(challenge)
    return row is None or row.consumed_at is not None or row.expires_at <= utcnow() or \
        row.attempts >= _settings().otp_max_attempts


class SmsFactor(Factor):
    kind = "sms"
    amr = ("sms",)
    choice_label = _l("Text me a code")
    choice_description = _l("We'll send a 6-digit code to your phone.")

    def enabled(self, realm):
        return realm.sms_enabled

    def enrolled(self, user):
        """A verified phone, or one an administrator set (verified by its first code)."""
        return bool(user.phone) and (user.phone_verified or user.phone_set_by_admin)

    def begin(self, challenge):
        send_sms_code(challenge)

    def verify(self, challenge, code):
        return verify_sms_code(challenge, code)

    def page_context(self, challenge):
        return {"masked_phone": mask_phone(challenge.phone), "resend_wait_seconds": resend_wait_seconds(challenge)}
