"""Texting codes (``idp.mfa.codes``: expiry, tries per code, resend cool-down), with caps on
messages per account and per IP, on distinct numbers and countries per IP (SMS pumping)."""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app, has_request_context

from ...extensions import db
from ...i18n import _
from ...models import OtpChallenge, SmsMessage, utcnow
from ...services.audit import record_event
from ...services.mfa_policy import active_sms_integrations
from ...services.phones import mask_phone, phone_country
from ...sms import SmsSendError
from ..base import Challenge, FactorError
from ..codes import issue_code, resend_wait_seconds

log = logging.getLogger(__name__)


def _settings():
    return current_app.extensions["idp.settings"].mfa


def _client_ip() -> str | None:
    """Whom the per-IP caps count: the client's IPv4 address or IPv6 /64 (one subscriber holds
    a whole /64)."""
    from ...ratelimit import client_network

    return client_network() if has_request_context() else None


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


def send_sms_code(challenge: Challenge, phone: str | None, *, purpose: str = "login") -> OtpChallenge:
    """Issue a new code for the binding and text it to ``phone`` with the realm's first active
    integration. Earlier codes of the same binding stop working."""
    from ...services.sms_integrations import sender_for

    realm, user = challenge.realm, challenge.user
    if not phone:
        raise FactorError(_("There is no phone number to send a code to."))
    wait = resend_wait_seconds(challenge, "sms", phone)
    if wait:
        raise FactorError(_("Wait %(seconds)s seconds before requesting another code.", seconds=wait), retry_after=wait)
    check_sms_caps(realm, user, phone)
    integrations = active_sms_integrations(realm)
    if not integrations:
        raise FactorError(_("We could not send the code: text messages are not set up for this service."))
    settings = _settings()
    row, code = issue_code(challenge, factor="sms", destination=phone, purpose=purpose)
    integration = integrations[0]
    body = _("%(code)s is your %(realm)s verification code. It expires in %(minutes)s minutes.",
             code=code, realm=realm.display_name, minutes=settings.otp_lifetime // 60)
    message = SmsMessage(realm_id=realm.id, user_id=user.id, ip_address=_client_ip(), phone=phone,
                         country=phone_country(phone), integration_id=integration.id, sent_at=row.created_at)
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
