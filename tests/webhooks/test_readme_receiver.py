"""The receiver in the README's "Verifying the signature" works as pasted: it accepts what idp
signs, once per webhook-id, and refuses a body someone altered."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from standardwebhooks import Webhook

from idp.webhooks.outbox import new_message_id, payload_json
from idp.webhooks.subscriptions import new_signing_secret
from idp.webhooks.worker import signed_headers

README = Path(__file__).resolve().parents[2] / "README.md"


class Delivery:
    def __init__(self, payload):
        self.message_id, self.payload = new_message_id(), payload


def test_the_readme_receiver_accepts_what_idp_signs_and_refuses_an_altered_body():
    section = README.read_text().split("### Verifying the signature", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    secret = new_signing_secret()
    namespace = {"__name__": __name__}
    exec(code.replace('"whsec_..."', repr(secret)), namespace)  # noqa: S102 (our own README)
    client = namespace["app"].test_client()
    now = dt.datetime.now(dt.timezone.utc)
    delivery = Delivery(payload_json("user.created", now, {"realm": "acme", "user_id": "u1", "details": {}}))
    headers = signed_headers(delivery, secret, now)

    assert client.post("/idp-events", data=delivery.payload, headers=headers).status_code == 204
    assert client.post("/idp-events", data=delivery.payload, headers=headers).status_code == 204
    assert namespace["seen"] == {delivery.message_id}
    altered = delivery.payload.replace("u1", "u2")
    assert client.post("/idp-events", data=altered, headers=headers).status_code == 401
    other = Webhook(new_signing_secret()).sign(delivery.message_id, now, delivery.payload)
    assert client.post("/idp-events", data=delivery.payload,
                       headers={**headers, "webhook-signature": other}).status_code == 401
