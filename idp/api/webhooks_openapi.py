"""The webhook part of the OpenAPI document: the management routes of ``api/webhooks.py``, and
under the document's top-level ``webhooks`` (OpenAPI 3.1) the request idp sends to a receiver:
its Standard Webhooks headers and its JSON body, one per event type."""
from __future__ import annotations

from ..events import EVENT_TYPES
from .openapi import NO_CONTENT, READ, REALM, WRITE, _json, _nullable, _object, _op, _param, _query, _ref, _string

WEBHOOK = f"{REALM}/webhooks/{{webhook_id}}"
DELIVERY = f"{WEBHOOK}/deliveries/{{delivery_id}}"
TIME = _string(format="date-time")
EVENT_TYPE_LIST = {"type": ["array", "null"], "items": _string(64), "maxItems": 100, "description":
                   "Event types (user.created) or families (mfa.*) to send; null or [\"*\"] for every event."}

SCHEMAS = {
    "Webhook": _object({
        "id": {"type": "integer"}, "url": _string(2000), "description": _nullable(_string(200)),
        "event_types": EVENT_TYPE_LIST, "enabled": {"type": "boolean"}, "created_at": TIME,
    }),
    "WebhookCreated": _object({
        "id": {"type": "integer"}, "url": _string(2000), "description": _nullable(_string(200)),
        "event_types": EVENT_TYPE_LIST, "enabled": {"type": "boolean"}, "created_at": TIME,
        "secret": _string(description="The signing secret (whsec_...), in this answer only: store it in the "
                                      "receiver to verify webhook-signature."),
    }),
    "WebhookList": _object({"webhooks": {"type": "array", "items": _ref("Webhook")}}),
    "WebhookCreate": _object({
        "url": _string(2000, description="https:// (http:// and private addresses only if the operator allows them)."),
        "event_types": EVENT_TYPE_LIST, "description": _nullable(_string(200)),
        "enabled": {"type": "boolean", "default": True},
    }, ("url",)),
    "WebhookUpdate": _object({
        "url": _string(2000), "event_types": EVENT_TYPE_LIST, "description": _nullable(_string(200)),
        "enabled": {"type": "boolean"},
    }),
    "WebhookDelivery": _object({
        "id": {"type": "integer"}, "webhook_id": {"type": "integer"},
        "message_id": _string(description="The webhook-id header: the same for a redelivery of one message."),
        "event_type": _string(64),
        "status": {"enum": ["pending", "succeeded", "failed"], "description":
                   "pending: queued or waiting for its next try; failed: given up after the retry window."},
        "attempts": {"type": "integer"},
        "response_status": {"type": ["integer", "null"], "description": "The receiver's last HTTP status."},
        "latency_ms": {"type": ["integer", "null"], "description": "How long the last attempt took."},
        "error": _nullable(_string(description="Why the last attempt failed.")),
        "created_at": TIME, "last_attempt_at": _nullable(TIME),
        "next_attempt_at": _nullable({**TIME, "description": "The next try, while pending."}),
        "finished_at": _nullable(TIME),
        "redelivery_of": {"type": ["integer", "null"], "description": "The delivery this one sends again."},
        "payload": {**_ref("WebhookEvent"), "description": "The body sent (in the single-delivery answer only)."},
    }, closed=True),
    "WebhookDeliveryList": _object({
        "deliveries": {"type": "array", "items": _ref("WebhookDelivery")},
        "limit": {"type": "integer"}, "offset": {"type": "integer"}, "next_offset": {"type": ["integer", "null"]}}),
    "WebhookEvent": _object({
        "type": {"enum": list(EVENT_TYPES), "description": "The event type."},
        "timestamp": _string(format="date-time", description="When the event happened (UTC)."),
        "data": _object({
            "realm": _string(64),
            "user_id": _nullable(_string(description="The user the event is about, if any.")),
            "email": _string(description="That user's address, when they have one."),
            "ip_address": _string(description="The caller's address, when the event came from a request."),
            "details": {"type": "object", "description": "What the audit log records for this event type."},
        }, ("realm", "user_id", "details")),
    }, ("type", "timestamp", "data")),
}

PARAMETERS = {
    "webhook_id": {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
    "delivery_id": {"name": "delivery_id", "in": "path", "required": True,
                    "schema": {"type": "integer", "minimum": 0}},
}

SIGNATURE_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": _string(),
     "description": "The message's id; the same on every retry and redelivery: de-duplicate by it."},
    {"name": "webhook-timestamp", "in": "header", "required": True, "schema": _string(),
     "description": "Unix seconds when this attempt was signed; refuse it when far from your clock."},
    {"name": "webhook-signature", "in": "header", "required": True, "schema": _string(), "description":
     "v1,<base64 HMAC-SHA256 of '{webhook-id}.{webhook-timestamp}.{body}' under the secret> (Standard "
     "Webhooks); verify with a Standard Webhooks library before trusting the body."},
]


def paths() -> dict:
    ok = lambda schema, text="OK.": {"200": _json(_ref(schema), text)}  # noqa: E731
    queued = {"202": _json(_ref("WebhookDelivery"), "Queued; the worker sends it.")}
    tags = ("webhooks",)
    return {
        f"{REALM}/webhooks": {
            "parameters": [_param("realm")],
            "get": _op("List webhooks", ok("WebhookList"), READ, tags=tags),
            "post": _op("Add a webhook (the signing secret is in this answer only)",
                        {"201": _json(_ref("WebhookCreated"), "Created.")}, WRITE, body="WebhookCreate", tags=tags),
        },
        WEBHOOK: {
            "parameters": [_param("realm"), _param("webhook_id")],
            "get": _op("Get a webhook", ok("Webhook"), READ, tags=tags),
            "patch": _op("Change the URL, event types, description, or turn it on or off", ok("Webhook"), WRITE,
                         body="WebhookUpdate", tags=tags),
            "delete": _op("Remove a webhook and its delivery log", NO_CONTENT, READ, tags=tags),
        },
        f"{WEBHOOK}/test": {
            "parameters": [_param("realm"), _param("webhook_id")],
            "post": _op("Send a webhook.test event to this webhook", queued, READ, tags=tags),
        },
        f"{WEBHOOK}/deliveries": {
            "parameters": [_param("realm"), _param("webhook_id")],
            "get": _op("The delivery log, newest first", ok("WebhookDeliveryList"), READ, tags=tags, parameters=[
                _query("status", {"enum": ["pending", "succeeded", "failed"]}, "Only deliveries in this state."),
                _param("limit"), _param("offset")]),
        },
        DELIVERY: {
            "parameters": [_param("realm"), _param("webhook_id"), _param("delivery_id")],
            "get": _op("One delivery, with the body it sends", ok("WebhookDelivery"), READ, tags=tags),
        },
        f"{DELIVERY}/redeliver": {
            "parameters": [_param("realm"), _param("webhook_id"), _param("delivery_id")],
            "post": _op("Send the message again (same webhook-id and body)", queued, READ, tags=tags),
        },
    }


def event_webhooks() -> dict:
    """OpenAPI 3.1 ``webhooks``: what a receiver gets. Every event type has the same shape."""
    return {"event": {"post": {
        "summary": "An event of the realm, as POSTed to each webhook that wants its type",
        "description": ("Answer 2xx within the time limit (10 s by default) to acknowledge it. Any other answer, "
                        "a redirect or no answer is retried with exponential back-off for 24 hours; the "
                        "webhook-id stays the same, so a receiver keeps each id once."),
        "parameters": SIGNATURE_HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("WebhookEvent")}}},
        "responses": {"2XX": {"description": "Received."}},
    }}}


def add_webhooks(document: dict) -> None:
    from .openapi import _with_scopes

    document["paths"].update(_with_scopes(paths()))
    document["components"]["schemas"].update(SCHEMAS)
    document["components"]["parameters"].update(PARAMETERS)
    document["webhooks"] = event_webhooks()
