"""The webhook SMS provider: a signed JSON POST to the operator's endpoint, under the same
outbound rules as event webhooks (checked when saved and again when each text is sent)."""
from __future__ import annotations

import pytest

from .harnesses.webhook import OUTBOUND, Harness

PHONE = "+14155550100"


@pytest.fixture
def endpoint(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def _integration(app, values):
    from idp.extensions import db
    from idp.services.realms import create_realm
    from idp.services.sms_integrations import add_integration

    row = add_integration(create_realm("acme"), kind="webhook", name="relay", active=True, **values)
    db.session.commit()
    return row


def test_each_text_is_a_signed_json_post_and_the_endpoints_id_is_the_message_id(make_app, endpoint):
    from idp.services.sms_integrations import sender_for

    app = make_app(webhooks=OUTBOUND)
    with app.app_context():
        message_id = sender_for(_integration(app, endpoint.values())).send(PHONE, "123456 is your code")
    assert message_id == "sms-0001"
    [kept] = endpoint.endpoint.kept
    assert kept["payload"] == {"to": PHONE, "body": "123456 is your code"}
    assert kept["headers"]["Content-Type"] == "application/json"
    assert kept["headers"]["webhook-id"].startswith("msg_") and kept["headers"]["webhook-signature"].startswith("v1,")
    assert endpoint.endpoint.rejected == []


@pytest.mark.parametrize("outbound, values, field, message", [
    ({"allow_http": True}, {}, "webhook_url", "webhooks.allow_private_targets is off"),
    ({"allow_private_targets": True}, {}, "webhook_url", "webhooks.allow_http is off"),
    (OUTBOUND, {"webhook_url": "ftp://sms.example.com/send"}, "webhook_url", "must start with https://"),
    (OUTBOUND, {"webhook_secret": "correct horse battery staple"}, "webhook_secret", "whsec_ followed by"),
    (OUTBOUND, {"webhook_secret": "whsec_c2hvcnQ="}, "webhook_secret", "at least 24 random bytes"),
], ids=["loopback", "plain-http", "not-http", "not-whsec", "short-secret"])
def test_an_endpoint_or_secret_the_outbound_rules_refuse_is_refused_on_its_field(make_app, endpoint, outbound,
                                                                                 values, field, message):
    from idp.services import ServiceError

    app = make_app(webhooks=outbound)
    with app.app_context(), pytest.raises(ServiceError, match=message) as refused:
        _integration(app, {**endpoint.values(), **values})
    assert refused.value.field == field


@pytest.mark.parametrize("problem, expected", [
    ("private-now", "non-public address"),
    ("slow", "timed out"),
    ("redirect", "redirects are not followed"),
])
def test_a_send_the_rules_stop_or_the_endpoint_fails_is_an_sms_send_error(make_app, endpoint, problem, expected):
    """Saved while loopback was allowed, sent once it no longer is (a name that now resolves
    to a private address is refused the same way); a slow or redirecting endpoint fails."""
    from idp.services.sms_integrations import sender_for
    from idp.sms import SmsSendError

    app = make_app(webhooks={**OUTBOUND, "timeout_seconds": 1})
    with app.app_context():
        row_id = _integration(app, endpoint.values()).id
    if problem == "private-now":
        app.extensions["idp.settings"].webhooks.allow_private_targets = False
    elif problem == "slow":
        endpoint.endpoint.delay = 1.5
    else:
        endpoint.endpoint.status, endpoint.endpoint.answer = 302, b""
    with app.app_context(), pytest.raises(SmsSendError, match=expected) as failure:
        from idp.extensions import db
        from idp.models import SmsIntegration

        sender_for(db.session.get(SmsIntegration, row_id)).send(PHONE, "123456 is your code")
    assert endpoint.secret not in str(failure.value) and "/sms/send" not in str(failure.value)
