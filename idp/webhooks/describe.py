"""The one JSON shape of a webhook and of a delivery, for the API and ``idp webhooks --json``."""
from __future__ import annotations

import json


def _time(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def webhook_json(webhook) -> dict:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "description": webhook.description,
        "event_types": webhook.event_types,
        "enabled": webhook.enabled,
        "created_at": _time(webhook.created_at),
    }


def delivery_json(delivery, *, with_payload: bool = False) -> dict:
    data = {
        "id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "message_id": delivery.message_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "latency_ms": delivery.latency_ms,
        "error": delivery.last_error,
        "created_at": _time(delivery.created_at),
        "last_attempt_at": _time(delivery.last_attempt_at),
        "next_attempt_at": _time(delivery.next_attempt_at),
        "finished_at": _time(delivery.finished_at),
        "redelivery_of": delivery.redelivery_of,
    }
    if with_payload:
        data["payload"] = json.loads(delivery.payload)
    return data
