"""The webhook provider against a real endpoint on loopback that verifies each signature."""
from __future__ import annotations

import base64
import secrets
from pathlib import Path

from .receiver import SignedReceiver

#: Loopback over http is what a test endpoint is.
OUTBOUND = {"allow_private_targets": True, "allow_http": True, "timeout_seconds": 2}


class Harness:
    settings = {"webhooks": OUTBOUND}

    def __init__(self, folder: Path):
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.endpoint = SignedReceiver(self.secret)

    def values(self) -> dict:
        return {"webhook_url": f"{self.endpoint.url}/sms/send", "webhook_secret": self.secret}

    def install(self, app):
        pass

    def received(self) -> list[tuple[str, str]]:
        assert not self.endpoint.rejected
        return [(kept["payload"]["to"], kept["payload"]["body"]) for kept in self.endpoint.kept]

    def break_sending(self):
        self.endpoint.status, self.endpoint.answer = 500, b'{"error": "carrier down"}'

    def close(self):
        self.endpoint.close()
