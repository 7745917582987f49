"""SMS integrations of a realm, with the rule from roq-mfa.txt: SMS MFA needs at least one
active integration, so the last one cannot be deactivated or removed while SMS MFA is on."""
from __future__ import annotations

from ..extensions import db
from ..models import SmsIntegration
from ..security import decrypt, encrypt
from ..sms import SmsSendError
from ..sms.registry import registry, sender_context
from . import NotFound, ServiceError
from .audit import record_event
from .mfa_policy import active_sms_integrations


def list_integrations(realm) -> list[SmsIntegration]:
    return list(db.session.scalars(
        db.select(SmsIntegration).filter_by(realm_id=realm.id).order_by(SmsIntegration.position, SmsIntegration.id)
    ))


def get_integration(realm, name: str) -> SmsIntegration:
    row = db.session.scalar(db.select(SmsIntegration).filter_by(realm_id=realm.id, name=name))
    if row is None:
        raise NotFound(f"SMS integration '{name}' does not exist in realm '{realm.name}'")
    return row


def describe(row: SmsIntegration) -> dict:
    """The row as the CLI, the API and the console show it: its provider's non-secret fields."""
    data = {"name": row.name, "kind": row.kind, "active": row.active}
    spec = registry().get(row.kind)
    if spec is not None:
        data.update(spec.describe(row.settings or {}))
    return data


def summary(row: SmsIntegration) -> str:
    spec = registry().get(row.kind)
    return spec.summary(row.settings or {}) if spec else "This server does not offer this provider"


def provider_label(row: SmsIntegration) -> str:
    spec = registry().get(row.kind)
    return spec.label if spec else row.kind


def add_integration(realm, *, kind: str, name: str, active: bool = False, **values) -> SmsIntegration:
    """``values`` are the provider's fields by name (``account_sid=...``); another provider's
    fields are ignored, so one set of CLI options or API fields serves every kind."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError("integration name must be 1-100 characters", field="name")
    spec = registry().get(kind)
    if spec is None:
        raise ServiceError(f"kind must be one of {', '.join(registry().kinds())}", field="kind")
    if db.session.scalar(db.select(SmsIntegration.id).filter_by(realm_id=realm.id, name=name)) is not None:
        raise ServiceError(f"an SMS integration named '{name}' already exists", field="name")
    settings, secret = spec.validate(values, sender_context(kind))
    position = len(list_integrations(realm))
    row = SmsIntegration(realm_id=realm.id, name=name, kind=kind, active=bool(active), position=position,
                         settings=settings, secret_encrypted=encrypt(secret) if secret else None)
    db.session.add(row)
    db.session.flush()
    record_event("sms_integration.added", realm=realm, name=name, kind=kind)
    return row


def change_integration(row: SmsIntegration, **values) -> list[str]:
    """Change the provider's settings: a field left out (None) keeps its value, an empty one
    clears it, and the secret is kept unless a new one is given (it is never shown, so it
    cannot be sent back). The whole set is validated again. Returns the names that changed."""
    spec = registry().get(row.kind)
    if spec is None:
        raise ServiceError(f"this server does not offer the SMS provider '{row.kind}' (sms.providers)", field="kind")
    old_settings = dict(row.settings or {})
    old_secret = decrypt(row.secret_encrypted) if row.secret_encrypted else None
    merged = {}
    for spec_field in spec.fields:
        given = values.get(spec_field.name)
        if spec_field.secret:
            merged[spec_field.name] = given if given and given.strip() else old_secret
        else:
            merged[spec_field.name] = old_settings.get(spec_field.name) if given is None else given
    settings, secret = spec.validate(merged, sender_context(row.kind))
    changed = [f.name for f in spec.fields if (secret != old_secret if f.secret
                                               else settings.get(f.name) != old_settings.get(f.name))]
    if changed:
        row.settings = settings
        row.secret_encrypted = encrypt(secret) if secret else None
        _audit(row, "sms_integration.changed", fields=changed)
    return changed


def activate_integration(row: SmsIntegration) -> None:
    row.active = True
    _audit(row, "sms_integration.activated")


def _audit(row, event, **details):
    from ..models import Realm

    record_event(event, realm=db.session.get(Realm, row.realm_id), name=row.name, **details)


def _refuse_if_last_active(row: SmsIntegration, verb: str) -> None:
    from ..models import Realm

    realm = db.session.get(Realm, row.realm_id)
    others = [i for i in active_sms_integrations(realm) if i.id != row.id]
    if row.active and realm.sms_enabled and not others:
        raise ServiceError(
            f"Cannot {verb} '{row.name}': it is the last active SMS integration and SMS two-factor "
            "authentication is on. Turn SMS off first (idp realms set --sms off) or activate another integration."
        )


def deactivate_integration(row: SmsIntegration) -> None:
    _refuse_if_last_active(row, "deactivate")
    row.active = False
    _audit(row, "sms_integration.deactivated")


def remove_integration(row: SmsIntegration) -> None:
    _refuse_if_last_active(row, "remove")
    _audit(row, "sms_integration.removed")
    db.session.delete(row)


def sender_for(row: SmsIntegration, *, http_client=None):
    """The row's sender, built by its provider from the stored settings and the decrypted secret."""
    spec = registry().get(row.kind)
    if spec is None:
        raise SmsSendError(f"this server does not offer the SMS provider '{row.kind}' (sms.providers)")
    secret = decrypt(row.secret_encrypted) if row.secret_encrypted else None
    return spec.build(row.settings or {}, secret, sender_context(row.kind, http_client))
