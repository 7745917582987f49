"""Contract driver: codes by email (the code in the development mail outbox)."""
import json
import re

LISTED_AS = "Codes by email"


def _last_code(instance_path, to="alice@example.com"):
    from flask import current_app

    from idp.mail import wait_for_deliveries

    wait_for_deliveries(current_app._get_current_object())
    path = instance_path / "mail-outbox.jsonl"
    for line in reversed(path.read_text().splitlines()):
        message = json.loads(line)
        if message["to"] == to and "verification code" in message["subject"]:
            return re.search(r"\b(\d{6})\b", message["subject"]).group(1)
    raise AssertionError("no code mail")


def enrolment_response(pending, instance_path):
    return {"code": _last_code(instance_path)}


def right_response(factor, challenge, authenticator, instance_path):
    factor.begin(challenge)
    return {"code": _last_code(instance_path)}


def wrong_response(authenticator):
    return {"code": "000000"}
