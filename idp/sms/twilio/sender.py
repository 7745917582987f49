"""Twilio sender on the official ``twilio`` package. Tests inject ``http_client``."""
from __future__ import annotations

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .. import SmsSendError

#: Seconds Twilio has to answer. The package's own client waits forever by default, and the
#: code page's request waits with it: a worker thread held until the connection dies.
TIMEOUT_SECONDS = 10


class TwilioSender:
    def __init__(self, *, account_sid: str, auth_token: str, from_number: str | None = None,
                 messaging_service_sid: str | None = None, http_client=None):
        if not account_sid or not auth_token:
            raise SmsSendError("Twilio integration is missing its account SID or auth token")
        if not from_number and not messaging_service_sid:
            raise SmsSendError("Twilio integration needs a sender number or a Messaging Service SID")
        self.client = Client(account_sid, auth_token,
                             http_client=http_client or TwilioHttpClient(timeout=TIMEOUT_SECONDS))
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid

    def send(self, to: str, body: str) -> str:
        kwargs = {"to": to, "body": body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise SmsSendError(f"Twilio refused the message (status {exc.status}, code {exc.code})") from None
        except (TwilioException, OSError) as exc:
            raise SmsSendError(f"Twilio could not be reached ({type(exc).__name__})") from None
        return message.sid
