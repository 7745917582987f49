"""Realm settings and the MFA rules from the product documents, in one place for the CLI, the
management API and the admin console."""
from __future__ import annotations

from ..extensions import db
from ..models import Realm, SmsIntegration
from . import ServiceError
from .passwords import check_min_length_setting
from .phones import is_phone_country

BOOLEAN_SETTINGS = (
    "registration_enabled",
    "mfa_enabled",
    "mfa_login_form",
    "mfa_registration_form",
    "mfa_required",
    "sms_enabled",
    "totp_enabled",
    "users_may_toggle_mfa",
    "require_email_verification",
    "require_pushed_authorization_requests",
    "password_block_common",
    "password_block_email",
)
LIFETIME_SETTINGS = ("access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime")
#: "Remember this device": 0 (off) up to a year.
MAX_REMEMBER_DEVICE_DAYS = 365


def active_sms_integrations(realm: Realm) -> list[SmsIntegration]:
    return list(
        db.session.scalars(
            db.select(SmsIntegration)
            .filter_by(realm_id=realm.id, active=True)
            .order_by(SmsIntegration.position, SmsIntegration.id)
        )
    )


NO_SMS_INTEGRATION = (
    "SMS two-factor authentication needs at least one active SMS integration. "
    "Add one with 'idp sms-integrations add' and activate it first."
)


def apply_realm_settings(realm: Realm, changes: dict) -> Realm:
    for key, value in changes.items():
        if value is None:
            continue
        if key in BOOLEAN_SETTINGS:
            if not isinstance(value, bool):
                raise ServiceError(f"{key} must be true or false", field=key)
        elif key in LIFETIME_SETTINGS:
            if isinstance(value, bool) or not isinstance(value, int) or not 30 <= value <= 31536000:
                raise ServiceError(f"{key} must be a number of seconds between 30 and 31536000", field=key)
        elif key == "remember_device_days":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_REMEMBER_DEVICE_DAYS:
                raise ServiceError(f"remember_device_days must be a number of days between 0 (off) and "
                                   f"{MAX_REMEMBER_DEVICE_DAYS}", field=key)
        elif key == "password_min_length":
            check_min_length_setting(value)
        elif key == "display_name":
            value = (value or "").strip()
            if not value or len(value) > 200:
                raise ServiceError("display name must be 1-200 characters", field=key)
        elif key == "theme":
            from ..themes import theme_exists

            if not theme_exists(value):
                raise ServiceError(f"theme '{value}' does not exist", field=key)
        elif key == "sms_allowed_countries":
            value = sorted({str(c).strip().upper() for c in value if str(c).strip()})
            unknown = [c for c in value if not is_phone_country(c)]
            if unknown:
                named = ", ".join(c[:8] for c in unknown[:5])
                raise ServiceError(f"{named}: not a country with phone numbers; countries are two-letter "
                                   "ISO 3166 codes, such as US or GB", field=key)
        else:
            raise ServiceError(f"unknown realm setting '{key}'", field=key)
        setattr(realm, key, value)

    if realm.sms_enabled and not active_sms_integrations(realm):
        raise ServiceError(NO_SMS_INTEGRATION, field="sms_enabled")
    return realm


def mfa_applies_to_form(realm: Realm, form_variant: str) -> bool:
    """The realm master switch and the per-form flag (roq-mfa.txt)."""
    if not realm.mfa_enabled:
        return False
    if form_variant == "registration":
        return realm.mfa_registration_form
    return realm.mfa_login_form


def enabled_factor_kinds(realm: Realm) -> list[str]:
    kinds = []
    if realm.sms_enabled:
        kinds.append("sms")
    if realm.totp_enabled:
        kinds.append("totp")
    return kinds
