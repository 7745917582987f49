"""Webhooks of a realm: add (the signing secret is generated and shown once), list, change,
remove. The rules every surface (CLI, console, API) shares live here."""
from __future__ import annotations

import base64
import secrets

from flask import current_app

from ..events import EVENT_TYPES, record_event
from ..extensions import db
from ..models import Webhook, WebhookDelivery
from ..security import decrypt, encrypt
from ..services import NotFound, ServiceError
from .targets import check_webhook_url

SECRET_PREFIX = "whsec_"
#: Webhooks a realm may have (each event is one outbox row per webhook that wants it).
MAX_WEBHOOKS_PER_REALM = 20
MAX_EVENT_TYPES = 100


def _settings():
    return current_app.extensions["idp.settings"].webhooks


def event_type_families() -> set[str]:
    return {name.split(".", 1)[0] for name in EVENT_TYPES}


def check_event_types(event_types) -> list[str] | None:
    """None (or ``["*"]``) means every event; else each entry is a type of the catalogue or a
    ``family.*`` of it (``mfa.*``). Duplicates go, the order is kept."""
    if event_types is None:
        return None
    if isinstance(event_types, str) or not isinstance(event_types, (list, tuple)):
        raise ServiceError("event types must be a list", field="event_types")
    cleaned: list[str] = []
    for entry in event_types:
        if not isinstance(entry, str):
            raise ServiceError("each event type must be a string", field="event_types")
        entry = entry.strip()
        if entry == "*":
            return None
        known = entry in EVENT_TYPES or (entry.endswith(".*") and entry[:-2] in event_type_families())
        if not known:
            raise ServiceError(f"unknown event type '{entry[:64]}' (see the list of event types)",
                               field="event_types")
        if entry not in cleaned:
            cleaned.append(entry)
    if not cleaned:
        raise ServiceError("choose at least one event type, or all of them", field="event_types")
    if len(cleaned) > MAX_EVENT_TYPES:
        raise ServiceError(f"at most {MAX_EVENT_TYPES} event types", field="event_types")
    return cleaned


def _check_url(url) -> str:
    settings = _settings()
    return check_webhook_url(url, allow_private=settings.allow_private_targets, allow_http=settings.allow_http)


def _check_description(description) -> str | None:
    if description is None:
        return None
    description = str(description).strip()
    if len(description) > 200:
        raise ServiceError("the description must be at most 200 characters", field="description")
    return description or None


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secret(webhook: Webhook) -> str:
    return decrypt(webhook.secret_encrypted)


def list_webhooks(realm) -> list[Webhook]:
    return list(db.session.scalars(db.select(Webhook).filter_by(realm_id=realm.id).order_by(Webhook.id)))


def get_webhook(realm, webhook_id) -> Webhook:
    webhook = db.session.get(Webhook, webhook_id) if isinstance(webhook_id, int) and 0 < webhook_id < 2**31 else None
    if webhook is None or webhook.realm_id != realm.id:
        raise NotFound(f"there is no webhook {webhook_id} in realm '{realm.name}'")
    return webhook


def create_webhook(realm, *, url, event_types=None, description=None, enabled=True) -> tuple[Webhook, str]:
    """The new webhook and its signing secret in plain (show it once; it is kept encrypted)."""
    url = _check_url(url)
    event_types = check_event_types(event_types)
    description = _check_description(description)
    count = db.session.scalar(db.select(db.func.count(Webhook.id)).filter_by(realm_id=realm.id))
    if count >= MAX_WEBHOOKS_PER_REALM:
        raise ServiceError(f"a realm may have at most {MAX_WEBHOOKS_PER_REALM} webhooks", field="url")
    secret = new_signing_secret()
    webhook = Webhook(realm_id=realm.id, url=url, event_types=event_types, description=description,
                      secret_encrypted=encrypt(secret), enabled=bool(enabled))
    db.session.add(webhook)
    db.session.flush()
    record_event("webhook.created", realm=realm, webhook_id=webhook.id, url=url)
    return webhook, secret


_UNSET = object()


def update_webhook(webhook: Webhook, *, url=_UNSET, event_types=_UNSET, description=_UNSET, enabled=_UNSET) -> Webhook:
    changed = []
    if url is not _UNSET:
        webhook.url = _check_url(url)
        changed.append("url")
    if event_types is not _UNSET:
        webhook.event_types = check_event_types(event_types)
        changed.append("event_types")
    if description is not _UNSET:
        webhook.description = _check_description(description)
        changed.append("description")
    if enabled is not _UNSET:
        webhook.enabled = bool(enabled)
        changed.append("enabled")
    if changed:
        record_event("webhook.updated", realm=webhook.realm, webhook_id=webhook.id, changed=changed,
                     enabled=webhook.enabled)
    return webhook


def delete_webhook(webhook: Webhook) -> None:
    """Remove the webhook and its delivery log; pending deliveries are dropped with it."""
    realm, webhook_id, url = webhook.realm, webhook.id, webhook.url
    db.session.execute(db.delete(WebhookDelivery).filter_by(webhook_id=webhook_id))
    db.session.delete(webhook)
    record_event("webhook.deleted", realm=realm, webhook_id=webhook_id, url=url)
