"""The transactional outbox: turning an event into pending deliveries, in the transaction of the
change that caused it, plus the deliveries an operator asks for (a test event, a redelivery).

The body follows the Standard Webhooks payload shape::

    {"type": "user.created", "timestamp": "2026-05-01T12:00:00.123456Z",
     "data": {"realm": "default", "user_id": "…", "email": "…", "ip_address": "…", "details": {…}}}

``timestamp`` is when the event happened (the ``webhook-timestamp`` header is when the attempt
was signed). ``data.details`` are the audit event's details; ``email`` is the user's address when the event
is about a user who has one, ``ip_address`` the caller's when it came from a request."""
from __future__ import annotations

import datetime as dt
import json
import secrets

from ..events import record_event
from ..extensions import db
from ..models import AuditEvent, Webhook, WebhookDelivery, utcnow
from ..models.webhook import types_want

TEST_EVENT_TYPE = "webhook.test"


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload_json(event_type: str, occurred_at: dt.datetime, data: dict) -> str:
    return json.dumps({"type": event_type, "timestamp": _timestamp(occurred_at), "data": data},
                      separators=(",", ":"), ensure_ascii=False, default=str)


def event_data(event: AuditEvent, realm, user=None) -> dict:
    data = {"realm": realm.name, "user_id": event.user_id}
    if user is not None and user.email:
        data["email"] = user.email
    if event.ip_address:
        data["ip_address"] = event.ip_address
    data["details"] = dict(event.details or {})
    return data


def _pending(webhook: Webhook, message_id: str, event_type: str, payload: str, **extra) -> WebhookDelivery:
    now = utcnow()
    delivery = WebhookDelivery(webhook=webhook, message_id=message_id, event_type=event_type, payload=payload,
                               status="pending", attempts=0, next_attempt_at=now, created_at=now, **extra)
    db.session.add(delivery)
    return delivery


def subscribed_types(realm) -> tuple:
    """The ``event_types`` of each enabled webhook of ``realm``, from the per-process lookup
    cache (``webhooks`` is a watched table: a change to one is seen by the next request of every
    process). Every audit event asks; almost always nobody listens, and then no query runs."""
    from ..services.lookup_cache import cached

    def load():
        with db.session.no_autoflush:  # the event being recorded stays unflushed for other receivers
            rows = db.session.scalars(db.select(Webhook.event_types).filter_by(realm_id=realm.id, enabled=True))
            return tuple(None if types is None else tuple(types) for types in rows)

    return cached(("webhook_types", realm.id), load)


def enqueue_for_event(event: AuditEvent, *, realm=None, user=None, **_) -> list[WebhookDelivery]:
    """Receiver of ``idp.events.event_recorded``: one pending delivery per enabled webhook of the
    event's realm that wants its type. Runs inside the caller's transaction, so the deliveries
    commit (or roll back) with the change and its audit row."""
    if realm is None or not any(types_want(types, event.event_type) for types in subscribed_types(realm)):
        return []
    with db.session.no_autoflush:
        webhooks = db.session.scalars(db.select(Webhook).filter_by(realm_id=realm.id, enabled=True)).all()
    removed = db.session.deleted  # a webhook being removed hears nothing more, not even of that
    wanting = [webhook for webhook in webhooks if webhook.wants(event.event_type) and webhook not in removed]
    if not wanting:
        return []
    payload = payload_json(event.event_type, event.created_at or utcnow(), event_data(event, realm, user))
    return [_pending(webhook, new_message_id(), event.event_type, payload) for webhook in wanting]


def enqueue_test_event(webhook: Webhook) -> WebhookDelivery:
    """A ``webhook.test`` message to this webhook only (whatever types it wants, even disabled:
    the worker sends it when the webhook is enabled)."""
    data = {"realm": webhook.realm.name, "user_id": None,
            "details": {"webhook_id": webhook.id, "message": "A test event sent from idp."}}
    delivery = _pending(webhook, new_message_id(), TEST_EVENT_TYPE, payload_json(TEST_EVENT_TYPE, utcnow(), data))
    record_event("webhook.test_sent", realm=webhook.realm, webhook_id=webhook.id, message_id=delivery.message_id)
    return delivery


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a message again: a new delivery with the same ``webhook-id`` and body (a receiver
    that de-duplicates sees the same message), signed afresh when it is sent."""
    again = _pending(delivery.webhook, delivery.message_id, delivery.event_type, delivery.payload,
                     redelivery_of=delivery.id)
    record_event("webhook.redelivered", realm=delivery.webhook.realm, webhook_id=delivery.webhook_id,
                 message_id=delivery.message_id)
    return again


def list_deliveries(webhook: Webhook, *, status: str | None = None, limit: int = 50, offset: int = 0):
    query = db.select(WebhookDelivery).filter_by(webhook_id=webhook.id)
    if status:
        query = query.filter_by(status=status)
    return list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset)))


def get_delivery(webhook: Webhook, delivery_id) -> WebhookDelivery:
    from ..services import NotFound

    delivery = (db.session.get(WebhookDelivery, delivery_id)
                if isinstance(delivery_id, int) and 0 < delivery_id < 2**31 else None)
    if delivery is None or delivery.webhook_id != webhook.id:
        raise NotFound(f"there is no delivery {delivery_id} of webhook {webhook.id}")
    return delivery
