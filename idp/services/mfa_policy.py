"""Realm settings and the MFA rules from the product documents, in one place for the CLI, the
management API and the admin console."""
from __future__ import annotations

from ..extensions import db
from ..models import Realm, SmsIntegration
from . import ServiceError
from .realm_settings import (
    MAX_REMEMBER_DEVICE_DAYS,  # noqa: F401  (re-exported)
    REALM_SETTINGS,
    realm_setting,
    settings_of_kind,
)

#: Kept for the modules that name groups of settings; the list itself is ``realm_settings``.
BOOLEAN_SETTINGS = settings_of_kind("boolean")
LIFETIME_SETTINGS = tuple(s.name for s in REALM_SETTINGS if s.nullable and s.kind == "integer")


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
    """Check and set ``changes`` (``None`` leaves a setting as it is), then the rules between
    settings. The caller commits, or rolls back on ``ServiceError``."""
    for key, value in changes.items():
        if value is None:
            continue
        setattr(realm, key, realm_setting(key).validate(value))

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
