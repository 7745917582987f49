"""Realm settings and the MFA rules from the product documents, in one place for the CLI, the
management API and the admin console."""
from __future__ import annotations

from flask import current_app

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
        if key == "mfa_factors":
            realm.mfa_factors = check_factor_list(value)
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
