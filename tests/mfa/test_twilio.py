"""The Twilio backend on the real ``twilio`` package, with its HTTP client replaced by one that
records the request and answers like the Twilio API."""
import json
import logging

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response

from .conftest import PHONE, RealmSetup, logged_in_claims, mfa_url, text_of

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
SENDER = "+15005550006"
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
INVALID_TO = (400, {"code": 21211, "message": f"The 'To' number {PHONE} is not a valid phone number.",
                    "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})


class TwilioApi(HttpClient):
    """Answers ``Messages.json`` like Twilio: 201 with the message, or the error it is set to."""

    def __init__(self):
        super().__init__(logger=logging.getLogger("tests.twilio"), is_async=False)
        self.requests = []
        self.error = None

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self.requests.append({"method": method, "url": uri, "data": dict(data or {}), "auth": auth})
        if self.error:
            status, body = self.error
            return Response(status, json.dumps(body))
        body = {"sid": "SM" + "ab" * 16, "account_sid": ACCOUNT_SID, "to": data["To"], "body": data["Body"],
                "status": "queued"}
        return Response(201, json.dumps(body))


@pytest.fixture
def twilio_api(app):
    fake = TwilioApi()
    app.extensions["idp.twilio_http_client"] = fake
    return fake


@pytest.fixture
def twilio_realm(in_app):
    def make(**sender) -> RealmSetup:
        from ..helpers import Factory

        with in_app() as app:
            factory = Factory(app)
            realm = factory.realm("acme")
            factory.sms_integration(realm, name="twilio", kind="twilio", account_sid=ACCOUNT_SID,
                                    auth_token=AUTH_TOKEN, **sender)
            factory.realm("acme", mfa_enabled=True, sms_enabled=True)
            return RealmSetup("acme", *factory.client(realm))

    return make


@pytest.mark.parametrize("sender, sent_from", [
    ({"from_number": "+1 500 555 0006"}, {"From": SENDER}),
    ({"messaging_service_sid": MESSAGING_SERVICE_SID}, {"MessagingServiceSid": MESSAGING_SERVICE_SID}),
], ids=["from-number", "messaging-service"])
def test_login_code_is_sent_through_the_twilio_messages_api(twilio_realm, user_factory, browser, twilio_api,
                                                           sender, sent_from):
    realm = twilio_realm(**sender)
    user_factory(admin_phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Enter the code we sent to" in login.page

    [request] = twilio_api.requests
    assert request["method"] == "POST"
    assert request["url"] == MESSAGES_URL
    assert request["auth"] == (ACCOUNT_SID, AUTH_TOKEN)
    assert request["data"]["To"] == PHONE
    assert {k: request["data"][k] for k in sent_from} == sent_from
    [other_sender] = {"From", "MessagingServiceSid"} - set(sent_from)
    assert other_sender not in request["data"]
    code = request["data"]["Body"].split()[0]
    assert code.isdigit() and len(code) == 6
    assert "Acme verification code" in request["data"]["Body"]

    login.submit({"code": code})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]


def test_twilio_error_shows_a_clear_page_and_the_login_goes_on_after_a_resend(twilio_realm, user_factory, browser,
                                                                             twilio_api, in_app, caplog):
    realm = twilio_realm(from_number=SENDER)
    user_factory(admin_phone=PHONE, with_recovery_codes=True)
    twilio_api.error = INVALID_TO
    login = browser(realm)
    login.authorize()
    with caplog.at_level(logging.DEBUG):
        login.log_in()
    assert login.response.status_code == 503
    words = text_of(login.page)
    assert "We could not send the code" in words
    assert "Resend code" in words and "Use a recovery code" in words
    assert AUTH_TOKEN not in caplog.text

    twilio_api.error = None
    login.submit({}, url=mfa_url(login, "/sms/resend"))
    assert login.response.status_code == 200, text_of(login.page)
    assert "We sent a new code to" in text_of(login.page)
    code = twilio_api.requests[-1]["data"]["Body"].split()[0]
    login.submit({"code": code}, url=mfa_url(login, "/sms"))
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]

    from idp.extensions import db
    from idp.models import AuditEvent

    with in_app():
        [failure] = db.session.scalars(db.select(AuditEvent).filter_by(event_type="mfa.sms_failed"))
        assert "21211" in failure.details["reason"]
        assert AUTH_TOKEN not in json.dumps(failure.details)


def test_twilio_integration_keeps_its_auth_token_encrypted(twilio_realm, in_app, runner):
    twilio_realm(from_number=SENDER)
    from idp.extensions import db
    from idp.models import SmsIntegration

    with in_app():
        row = db.session.scalar(db.select(SmsIntegration).filter_by(kind="twilio"))
        assert AUTH_TOKEN not in json.dumps(row.settings) and AUTH_TOKEN not in row.secret_encrypted
    listed = runner("sms-integrations", "list", "--realm", "acme", "--json")
    assert ACCOUNT_SID in listed.output and AUTH_TOKEN not in listed.output


@pytest.mark.parametrize("options, message", [
    ({"account_sid": "AC123"}, "Twilio needs --account-sid"),
    ({"auth_token": ""}, "Twilio needs --auth-token"),
    ({"from_number": None}, "Twilio needs --from-number or --messaging-service-sid"),
    ({"from_number": None, "messaging_service_sid": "MG1"}, "--messaging-service-sid must be MG"),
    ({"from_number": "555 0006"}, "Include your country code"),
])
def test_twilio_integration_with_missing_or_bad_settings_is_refused(in_app, options, message):
    from idp.services import ServiceError
    from idp.services.realms import create_realm
    from idp.services.sms_integrations import add_integration

    settings = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": SENDER, **options}
    with in_app():
        realm = create_realm("acme")
        with pytest.raises(ServiceError, match=message):
            add_integration(realm, kind="twilio", name="twilio", active=True, **settings)


def test_the_twilio_client_gives_up_on_an_api_that_does_not_answer():
    """The package's default HTTP client has no timeout: a Twilio API that accepts the
    connection and never answers would hold the request (and its worker) forever."""
    import socket
    import threading
    import time

    from idp.sms import SmsSendError
    from idp.sms.twilio import sender as twilio_sender

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
    sender = twilio_sender.TwilioSender(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=SENDER)
    assert sender.client.http_client.timeout == twilio_sender.TIMEOUT_SECONDS
    sender.client.http_client.timeout = 0.5
    sender.client.api.base_url = f"http://127.0.0.1:{port}"  # where the request goes, not api.twilio.com
    began = time.monotonic()
    with pytest.raises(SmsSendError, match="could not be reached"):
        sender.send(PHONE, "123456 is your code")
    assert time.monotonic() - began < 5
    assert accepted, "the sender never connected to the silent API"
    silent.close()
