"""SMS integrations of a realm, with the rule from roq-mfa.txt: SMS MFA needs at least one
active integration, so the last one cannot be deactivated or removed while SMS MFA is on."""
from __future__ import annotations

import re
from pathlib import Path

from flask import current_app

from ..extensions import db
from ..models import SmsIntegration
from ..security import decrypt, encrypt
from . import NotFound, ServiceError
from .audit import record_event
from .mfa_policy import active_sms_integrations

KINDS = ("outbox", "twilio")
TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
MESSAGING_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


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
    data = {"name": row.name, "kind": row.kind, "active": row.active}
    if row.kind == "twilio":
        data.update({k: row.settings.get(k) for k in ("account_sid", "from_number", "messaging_service_sid")})
    return data


def add_integration(realm, *, kind: str, name: str, active: bool = False, account_sid=None, auth_token=None,
                    from_number=None, messaging_service_sid=None) -> SmsIntegration:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError("integration name must be 1-100 characters", field="name")
    if kind not in KINDS:
        raise ServiceError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if db.session.scalar(db.select(SmsIntegration.id).filter_by(realm_id=realm.id, name=name)) is not None:
        raise ServiceError(f"an SMS integration named '{name}' already exists", field="name")
    settings: dict = {}
    secret = None
    if kind == "twilio":
        from .phones import parse_phone

        if not account_sid or not TWILIO_SID.match(account_sid):
            raise ServiceError("Twilio needs --account-sid (AC followed by 32 hex digits)", field="account_sid")
        if not auth_token:
            raise ServiceError("Twilio needs --auth-token (or IDP_TWILIO_AUTH_TOKEN)", field="auth_token")
        if messaging_service_sid:
            if not MESSAGING_SID.match(messaging_service_sid):
                raise ServiceError("--messaging-service-sid must be MG followed by 32 hex digits",
                                   field="messaging_service_sid")
        elif from_number:
            from_number = parse_phone(from_number, check_type=False)
        else:
            raise ServiceError("Twilio needs --from-number or --messaging-service-sid", field="from_number")
        settings = {"account_sid": account_sid, "from_number": from_number,
                    "messaging_service_sid": messaging_service_sid}
        secret = encrypt(auth_token)
    position = len(list_integrations(realm))
    row = SmsIntegration(realm_id=realm.id, name=name, kind=kind, active=bool(active), position=position,
                         settings=settings, secret_encrypted=secret)
    db.session.add(row)
    db.session.flush()
    record_event("sms_integration.added", realm=realm, name=name, kind=kind)
    return row


def activate_integration(row: SmsIntegration) -> None:
    row.active = True
    _audit(row, "sms_integration.activated")


def _audit(row, event):
    from ..models import Realm

    record_event(event, realm=db.session.get(Realm, row.realm_id), name=row.name)


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
    if row.kind == "outbox":
        from ..sms.outbox import OutboxSender

        settings = current_app.extensions["idp.settings"]
        return OutboxSender(Path(current_app.instance_path) / settings.sms.outbox_file)
    from ..sms.twilio import TwilioSender

    token = decrypt(row.secret_encrypted) if row.secret_encrypted else current_app.extensions["idp.settings"].sms.twilio_auth_token
    return TwilioSender(
        account_sid=row.settings.get("account_sid"),
        auth_token=token,
        from_number=row.settings.get("from_number"),
        messaging_service_sid=row.settings.get("messaging_service_sid"),
        http_client=http_client or current_app.extensions.get("idp.twilio_http_client"),
    )
