"""Twilio through the real ``twilio`` package, its HTTP client replaced by one that answers like
the Messages API (``tests/mfa/test_twilio.py``)."""
from __future__ import annotations

from pathlib import Path

from tests.mfa.test_twilio import ACCOUNT_SID, AUTH_TOKEN, INVALID_TO, SENDER, TwilioApi


class Harness:
    settings: dict = {}
    secret = AUTH_TOKEN

    def __init__(self, folder: Path):
        self.api = TwilioApi()

    def values(self) -> dict:
        return {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": SENDER}

    def install(self, app):
        app.extensions["idp.twilio_http_client"] = self.api

    def received(self) -> list[tuple[str, str]]:
        return [(request["data"]["To"], request["data"]["Body"]) for request in self.api.requests]

    def break_sending(self):
        self.api.error = INVALID_TO

    def close(self):
        pass
