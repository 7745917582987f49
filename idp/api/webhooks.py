"""Webhook routes of a realm: the webhooks (the secret is in the answer to POST only), a test
event, the delivery log and redelivery. Same services as ``idp webhooks`` and the console."""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..webhooks import outbox
from ..webhooks.describe import delivery_json, webhook_json
from ..webhooks.subscriptions import create_webhook, delete_webhook, get_webhook, list_webhooks, update_webhook
from . import api_bp
from .parameters import MAX_ID, Field, body_fields, query_int, query_text
from .errors import invalid_fields

WEBHOOK_ID = f"<int(max={MAX_ID}):webhook_id>"
DELIVERY_ID = f"<int(max={MAX_ID}):delivery_id>"
STATUSES = ("pending", "succeeded", "failed")
FIELDS = {
    "url": Field(max_length=2000),
    "event_types": Field("strings", nullable=True, max_length=64, max_items=100),
    "description": Field(nullable=True, max_length=200),
    "enabled": Field("boolean"),
}


def _answer(data, status=200):
    response = jsonify(data)
    response.status_code = status
    return response


@api_bp.get("/realms/<realm_name>/webhooks")
def list_webhooks_view():
    return jsonify(webhooks=[webhook_json(w) for w in list_webhooks(g.realm)])


@api_bp.post("/realms/<realm_name>/webhooks")
def create_webhook_view():
    """The signing secret is in this answer only; it is kept encrypted, never shown again."""
    fields = body_fields({**FIELDS, "url": Field(required=True, max_length=2000)})
    webhook, secret = create_webhook(g.realm, url=fields["url"], event_types=fields.get("event_types"),
                                     description=fields.get("description"), enabled=fields.get("enabled", True))
    db.session.commit()
    return _answer({**webhook_json(webhook), "secret": secret}, 201)


@api_bp.get(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}")
def get_webhook_view(webhook_id):
    return jsonify(webhook_json(get_webhook(g.realm, webhook_id)))


@api_bp.patch(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}")
def update_webhook_view(webhook_id):
    webhook = get_webhook(g.realm, webhook_id)
    update_webhook(webhook, **body_fields(FIELDS))
    db.session.commit()
    return jsonify(webhook_json(webhook))


@api_bp.delete(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}")
def delete_webhook_view(webhook_id):
    delete_webhook(get_webhook(g.realm, webhook_id))
    db.session.commit()
    return "", 204


@api_bp.post(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}/test")
def test_webhook_view(webhook_id):
    """Queue a ``webhook.test`` message to this webhook; the worker sends it (202)."""
    delivery = outbox.enqueue_test_event(get_webhook(g.realm, webhook_id))
    db.session.commit()
    return _answer(delivery_json(delivery), 202)


@api_bp.get(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}/deliveries")
def list_deliveries_view(webhook_id):
    webhook = get_webhook(g.realm, webhook_id)
    status = query_text("status", max_length=16)
    if status is not None and status not in STATUSES:
        raise invalid_fields({"status": f"Must be one of: {', '.join(STATUSES)}."})
    limit = query_int("limit", default=50, minimum=1, maximum=100)
    offset = query_int("offset", default=0)
    rows = outbox.list_deliveries(webhook, status=status, limit=limit + 1, offset=offset)
    return jsonify(deliveries=[delivery_json(d) for d in rows[:limit]], limit=limit, offset=offset,
                   next_offset=offset + limit if len(rows) > limit else None)


@api_bp.get(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}/deliveries/{DELIVERY_ID}")
def get_delivery_view(webhook_id, delivery_id):
    delivery = outbox.get_delivery(get_webhook(g.realm, webhook_id), delivery_id)
    return jsonify(delivery_json(delivery, with_payload=True))


@api_bp.post(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}/deliveries/{DELIVERY_ID}/redeliver")
def redeliver_view(webhook_id, delivery_id):
    """Send the message again (same webhook-id and body) as a new delivery (202)."""
    delivery = outbox.redeliver(outbox.get_delivery(get_webhook(g.realm, webhook_id), delivery_id))
    db.session.commit()
    return _answer(delivery_json(delivery), 202)
