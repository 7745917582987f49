"""Realm settings and the MFA rules from the product documents, in one place for the CLI, the
management API and the admin console."""
from __future__ import annotations

from flask import current_app

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
        elif key == "mfa_factors":
            value = check_factor_list(value)
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


def offerable_factor_kinds() -> list[str]:
    """The factors this installation has that a realm may offer (``[mfa] factors``; backup
    factors such as recovery codes come with the others)."""
    return current_app.extensions["idp.mfa_factors"].kinds(include_backup=False)


def check_factor_list(value) -> list[str]:
    """``mfa_factors``: kinds this installation offers, kept in its order of preference."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(k, str) for k in value):
        raise ServiceError("mfa_factors must be a list of factor names", field="mfa_factors")
    offerable = offerable_factor_kinds()
    unknown = [k for k in value if k not in offerable]
    if unknown:
        raise ServiceError(f"{', '.join(k[:16] for k in unknown[:5])}: not a factor of this installation; "
                           f"factors are: {', '.join(offerable)}", field="mfa_factors")
    return [k for k in offerable if k in value]


def enabled_factor_kinds(realm: Realm) -> list[str]:
    offerable = offerable_factor_kinds()
    return [k for k in realm.mfa_factors or [] if k in offerable]
