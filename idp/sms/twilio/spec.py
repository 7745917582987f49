"""Twilio: an account SID and its auth token (encrypted), and a sender number or a Messaging
Service. The messages name the CLI options because the CLI is where operators meet them first;
the API and the console show them on the same field."""
from __future__ import annotations

import re

from ...services import ServiceError
from ..base import ProviderField, ProviderSpec

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


def _account_sid(text: str) -> str:
    if not ACCOUNT_SID.match(text):
        raise ValueError("Twilio needs --account-sid (AC followed by 32 hex digits)")
    return text


def _messaging_service_sid(text: str) -> str:
    if not MESSAGING_SERVICE_SID.match(text):
        raise ValueError("--messaging-service-sid must be MG followed by 32 hex digits")
    return text


def _sender_number(text: str) -> str:
    from ...services.phones import parse_phone

    return parse_phone(text, check_type=False)


class TwilioSpec(ProviderSpec):
    kind = "twilio"
    label = "Twilio"
    legend = "Twilio credentials"
    fields = (
        ProviderField("account_sid", "Twilio account SID", "AC followed by 32 hexadecimal digits.",
                      required=True, validator=_account_sid, max_length=64,
                      missing="Twilio needs --account-sid (AC followed by 32 hex digits)"),
        ProviderField("auth_token", "Twilio auth token", "Stored encrypted; never shown again.",
                      secret=True, required=True, envvar="IDP_TWILIO_AUTH_TOKEN",
                      missing="Twilio needs --auth-token (or IDP_TWILIO_AUTH_TOKEN)"),
        ProviderField("from_number", "Sender phone number",
                      "Unless you give a messaging service SID: for example +14155550100.",
                      validator=_sender_number, max_length=64, input_type="tel"),
        ProviderField("messaging_service_sid", "Twilio messaging service SID",
                      "MG followed by 32 hexadecimal digits; sends instead of the sender number.",
                      validator=_messaging_service_sid, max_length=64),
    )

    def check(self, settings, secret, context) -> None:
        if not settings["from_number"] and not settings["messaging_service_sid"]:
            raise ServiceError("Twilio needs --from-number or --messaging-service-sid", field="from_number")

    def build(self, settings, secret, context):
        from .sender import TwilioSender

        return TwilioSender(account_sid=settings.get("account_sid"),
                            auth_token=secret or context.settings.sms.twilio_auth_token,
                            from_number=settings.get("from_number"),
                            messaging_service_sid=settings.get("messaging_service_sid"),
                            http_client=context.http_client)

    def summary(self, settings) -> str:
        text = f"Account {settings.get('account_sid')}"
        if settings.get("from_number"):
            text += f", from {settings['from_number']}"
        if settings.get("messaging_service_sid"):
            text += f", service {settings['messaging_service_sid']}"
        return text + "; auth token stored encrypted"


PROVIDER = TwilioSpec()
