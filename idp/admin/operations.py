"""Changes only an administrator makes, which no other surface needed yet: resetting a user's
factors, locking an account, a test text message. Each
records its audit event; the caller commits (or rolls back on ``ServiceError``)."""
from __future__ import annotations

from ..extensions import db
from ..mfa import flows
from ..mfa.codes import end_codes
from ..models import SmsMessage, utcnow
from ..services import ServiceError
from ..services.account_lock import lock_user, unlock_user  # noqa: F401  (the console's verbs)
from ..services.audit import record_event
from ..services.phones import mask_phone, parse_phone, phone_country
from ..services.sign_out import end_browser_sessions, revoke_user_tokens
from ..sms import SmsSendError


def reset_factors(user) -> None:
    """Remove every second factor the user holds: authenticator apps (pending ones too),
    recovery codes, the phone, and any code in flight; clear a second-factor lock. The MFA flag
    stays, so a user with MFA on enrols again at the next login."""
    flows.remove_all(user)
    end_codes(user)
    user.failed_mfa_attempts, user.mfa_locked_until = 0, None
    record_event("mfa.factors_reset", realm=user.realm, user=user)


def end_user_sessions(user) -> None:
    """Log the user out everywhere: browser sessions and issued tokens."""
    end_browser_sessions(user)
    revoke_user_tokens(user)


def client_realm(client):
    from ..models import Realm

    return db.session.get(Realm, client.realm_id)


TEST_MESSAGE = "Test message from {realm}: the SMS integration '{name}' works."


def send_test_sms(integration, raw_phone: str) -> None:
    """Text a test message through this integration (active or not) and log it like any SMS,
    so the dashboard counts it."""
    from ..models import Realm
    from ..services.sms_integrations import sender_for

    realm = db.session.get(Realm, integration.realm_id)
    phone = parse_phone(raw_phone, check_type=False)
    try:
        sender_for(integration).send(phone, TEST_MESSAGE.format(realm=realm.display_name, name=integration.name))
    except SmsSendError as error:
        raise ServiceError(f"The test message was not sent: {error}", field="phone") from None
    db.session.add(SmsMessage(realm_id=realm.id, phone=phone, country=phone_country(phone),
                              integration_id=integration.id, status="test", sent_at=utcnow()))
    record_event("sms_integration.test_sent", realm=realm, name=integration.name, phone=mask_phone(phone))
