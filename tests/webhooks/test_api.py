"""An operator manages webhooks through the management API and watches the delivery log;
a real receiver process verifies what arrives with the ``standardwebhooks`` package."""
from __future__ import annotations

import pytest

from idp.extensions import db
from idp.models import Webhook, WebhookDelivery
from idp.security import decrypt

from .conftest import deliver_due, wait_until


def test_operator_adds_a_webhook_sees_its_secret_once_and_it_is_stored_encrypted(api):
    created = api.post("/webhooks", {"url": "https://hooks.example.com/idp", "event_types": ["user.created", "mfa.*"],
                                     "description": "CRM sync"})

    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["user.created", "mfa.*"] and body["enabled"] is True
    shown = api.get(f"/webhooks/{body['id']}").get_json()
    assert "secret" not in shown and shown["description"] == "CRM sync"
    assert [w["id"] for w in api.get("/webhooks").get_json()["webhooks"]] == [body["id"]]
    row = db.session.get(Webhook, body["id"])
    assert body["secret"] not in row.secret_encrypted
    assert decrypt(row.secret_encrypted) == body["secret"]


def test_test_event_reaches_the_receiver_signed_and_the_log_shows_how_it_went(app, api, receiver):
    hooks = receiver()
    created = api.post("/webhooks", {"url": f"{hooks.url}/in"}).get_json()
    hooks.start(created["secret"])

    queued = api.post(f"/webhooks/{created['id']}/test")
    assert queued.status_code == 202
    assert queued.get_json()["status"] == "pending"
    deliver_due(app)

    # a webhook for every event also hears of its own creation, and of the operator's test
    assert sorted(m["type"] for m in hooks.kept()) == ["webhook.created", "webhook.test", "webhook.test_sent"]
    message = next(m for m in hooks.kept() if m["type"] == "webhook.test")
    assert message["id"] == queued.get_json()["message_id"]
    assert message["payload"]["data"]["realm"] == "acme"
    log = api.get(f"/webhooks/{created['id']}/deliveries").get_json()["deliveries"]
    test_delivery = next(d for d in log if d["event_type"] == "webhook.test")
    assert test_delivery["status"] == "succeeded" and test_delivery["response_status"] == 204
    assert test_delivery["attempts"] == 1 and test_delivery["latency_ms"] >= 0
    assert test_delivery["next_attempt_at"] is None and test_delivery["finished_at"]
    one = api.get(f"/webhooks/{created['id']}/deliveries/{test_delivery['id']}").get_json()
    assert one["payload"]["type"] == "webhook.test"


def test_redelivery_sends_the_same_message_again_which_the_receiver_recognises(app, api, receiver):
    hooks = receiver()
    created = api.post("/webhooks", {"url": f"{hooks.url}/in", "event_types": ["webhook.test"]}).get_json()
    hooks.start(created["secret"])
    first = api.post(f"/webhooks/{created['id']}/test").get_json()
    deliver_due(app)

    again = api.post(f"/webhooks/{created['id']}/deliveries/{first['id']}/redeliver")
    assert again.status_code == 202
    assert again.get_json()["message_id"] == first["message_id"] and again.get_json()["redelivery_of"] == first["id"]
    deliver_due(app)

    assert [m["id"] for m in hooks.kept()] == [first["message_id"]]
    assert [m["id"] for m in hooks.duplicates()] == [first["message_id"]]
    statuses = [d["status"] for d in api.get(f"/webhooks/{created['id']}/deliveries").get_json()["deliveries"]]
    assert statuses == ["succeeded", "succeeded"]


def test_a_receiver_that_fails_is_retried_with_back_off_until_it_answers(app, api, receiver):
    hooks = receiver()
    created = api.post("/webhooks", {"url": f"{hooks.url}/in", "event_types": ["webhook.test"]}).get_json()
    hooks.start(created["secret"], fail_first=2)
    api.post(f"/webhooks/{created['id']}/test")

    deliver_due(app)
    [waiting] = api.get(f"/webhooks/{created['id']}/deliveries").get_json()["deliveries"]
    assert waiting["status"] == "pending" and waiting["response_status"] == 503 and waiting["attempts"] == 1
    assert waiting["error"] == "the receiver answered 503" and waiting["next_attempt_at"]

    def delivered():
        deliver_due(app)
        [row] = api.get(f"/webhooks/{created['id']}/deliveries").get_json()["deliveries"]
        return row if row["status"] == "succeeded" else None

    row = wait_until(delivered, timeout=20, interval=0.2, message="the retry")
    assert row["attempts"] == 3 and len(hooks.kept()) == 1


def test_changes_are_validated_and_a_refused_one_writes_nothing(api):
    created = api.post("/webhooks", {"url": "https://hooks.example.com/a"}).get_json()

    refused = api.patch(f"/webhooks/{created['id']}", {"event_types": ["user.nonsense"], "enabled": False})

    assert refused.status_code == 422 and "event_types" in refused.get_json()["fields"]
    assert api.get(f"/webhooks/{created['id']}").get_json()["enabled"] is True
    changed = api.patch(f"/webhooks/{created['id']}", {"enabled": False, "event_types": None})
    assert changed.get_json()["enabled"] is False and changed.get_json()["event_types"] is None
    assert api.delete(f"/webhooks/{created['id']}").status_code == 204
    assert api.get(f"/webhooks/{created['id']}").status_code == 404


@pytest.fixture
def strict_api(make_app, factory):
    """The default settings: https only, public addresses only."""
    from tests.api.conftest import ApiClient, make_api_key

    strict = make_app()
    with strict.app_context():
        key = make_api_key(factory.realm("acme"))
    return ApiClient(strict.test_client(), key)


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"url": "ftp://hooks.example.com/"}, "url", "must start with https://"),
    ({"url": "http://hooks.example.com/"}, "url", "must use https://"),
    ({"url": "https://127.0.0.1/hook"}, "url", "non-public address"),
    ({"url": "https://[::ffff:10.0.0.1]/hook"}, "url", "non-public address"),
    ({"url": "https://169.254.169.254/latest/meta-data"}, "url", "non-public address"),
    ({"url": "https://localhost:8443/hook"}, "url", "points at this machine"),
    ({"url": "https://user:pass@hooks.example.com/"}, "url", "credentials"),
    ({"url": "https://hooks.example.com/", "event_types": ["login.*", "nope"]}, "event_types", "unknown event type"),
    ({"url": "https://hooks.example.com/", "event_types": []}, "event_types", "at least one"),
    ({"url": "https://hooks.example.com/", "event_types": "user.created"}, "event_types", "list"),
    ({"url": "https://hooks.example.com/", "description": "x" * 201}, "description", "200"),
    ({"url": 42}, "url", "string"),
    ({}, "url", "required"),
])
def test_a_webhook_that_is_not_valid_is_refused_with_the_field_named(strict_api, body, field, message):
    response = strict_api.post("/webhooks", body)

    assert response.status_code == 422, response.get_json()
    assert message in response.get_json()["fields"][field]
    assert strict_api.get("/webhooks").get_json()["webhooks"] == []


def test_deliveries_and_webhooks_of_another_realm_are_not_found(api, factory):
    from idp.webhooks.subscriptions import create_webhook

    other, _ = create_webhook(factory.realm("other"), url="https://hooks.example.com/other")
    db.session.commit()

    assert api.get(f"/webhooks/{other.id}").status_code == 404
    assert api.post(f"/webhooks/{other.id}/test").status_code == 404
    assert api.get("/webhooks/1/deliveries?status=lost").status_code in (404, 422)
    assert db.session.scalar(db.select(db.func.count(WebhookDelivery.id)).filter_by(event_type="webhook.test")) == 0
