"""The request: ``{"to": "+1...", "body": "..."}`` with the Standard Webhooks headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``: HMAC-SHA256 of
``id.timestamp.body`` with the shared secret, https://www.standardwebhooks.com/), so a receiver
verifies it with any Standard Webhooks library. It goes through ``idp.webhooks.targets.post``:
the address is checked when the text is sent (``[webhooks] allow_private_targets`` and
``allow_http``), no redirect is followed, the exchange has ``timeout_seconds`` and at most
``max_response_bytes`` of the answer are read. A 2xx is sent; the message id is the answer's
JSON ``id`` if it has a short one, else the ``webhook-id``."""
from __future__ import annotations

import datetime as dt
import json
import secrets
from urllib.parse import urlsplit

from standardwebhooks import Webhook as StandardWebhook

from ...webhooks.targets import post
from .. import SmsSendError

USER_AGENT = "idp-sms-webhook/1"
MAX_MESSAGE_ID_LENGTH = 100


class WebhookSender:
    def __init__(self, *, url: str, secret: str, outbound, transport=None):
        if not url or not secret:
            raise SmsSendError("the SMS webhook integration is missing its URL or signing secret")
        self.url = url
        self.signer = StandardWebhook(secret)
        self.outbound = outbound
        self.transport = transport or post

    def send(self, to: str, body: str) -> str:
        message_id = "msg_" + secrets.token_hex(12)
        now = dt.datetime.now(dt.timezone.utc)
        payload = json.dumps({"to": to, "body": body}, ensure_ascii=False, separators=(",", ":"))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.signer.sign(msg_id=message_id, timestamp=now, data=payload),
        }
        answer = self.transport(self.url, payload.encode(), headers, settings=self.outbound)
        if not answer.succeeded:
            raise SmsSendError(f"the SMS webhook did not take the message: {self._without_url(answer.error)}")
        return _message_id(answer.excerpt) or message_id

    def _without_url(self, error: str | None) -> str:
        """The failure in words, without the URL's path or query (they may carry a token)."""
        text = error or "no answer"
        parts = urlsplit(self.url)
        for secretish in (parts.query, parts.path if len(parts.path) > 1 else ""):
            if secretish:
                text = text.replace(secretish, "…")
        return text


def _message_id(excerpt: str) -> str | None:
    try:
        answer = json.loads(excerpt)
    except ValueError:
        return None
    value = answer.get("id") if isinstance(answer, dict) else None
    if isinstance(value, str) and 0 < len(value) <= MAX_MESSAGE_ID_LENGTH and value.isprintable():
        return value
    return None
