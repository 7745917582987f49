"""The outbox: an event's deliveries are written with the change, or not at all; a webhook gets
the events it asked for; a delivery that cannot get through is given up after the retry window."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from idp.events import EVENT_TYPES
from idp.extensions import db
from idp.models import AuditEvent, WebhookDelivery
from idp.services.users import create_user
from idp.webhooks.subscriptions import create_webhook, update_webhook

from .conftest import deliver_due

IDP = Path(__file__).resolve().parents[2] / "idp"


def _deliveries(**filters):
    db.session.expire_all()
    return db.session.scalars(db.select(WebhookDelivery).filter_by(**filters).order_by(WebhookDelivery.id)).all()


def test_a_change_that_rolls_back_leaves_neither_its_event_nor_its_delivery(acme):
    create_webhook(acme, url="https://hooks.example.com/a")
    db.session.commit()

    create_user(acme, email="ghost@example.com", password=None)
    db.session.rollback()

    assert _deliveries(event_type="user.created") == []
    assert db.session.scalar(db.select(AuditEvent.id).filter_by(event_type="user.created")) is None


def test_the_event_and_its_deliveries_commit_together_with_the_change(acme):
    create_webhook(acme, url="https://hooks.example.com/a")
    create_webhook(acme, url="https://hooks.example.com/b", event_types=["mfa.*"])
    db.session.commit()

    user = create_user(acme, email="bob@example.com", password=None)
    db.session.commit()

    [delivery] = _deliveries(event_type="user.created")
    assert delivery.status == "pending" and delivery.webhook.url == "https://hooks.example.com/a"
    body = json.loads(delivery.payload)
    assert body["type"] == "user.created" and body["data"]["user_id"] == user.id
    assert body["data"]["email"] == "bob@example.com" and body["data"]["realm"] == "acme"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", body["timestamp"])


def test_a_disabled_webhook_and_other_realms_get_nothing(acme, factory):
    webhook, _ = create_webhook(acme, url="https://hooks.example.com/a")
    update_webhook(webhook, enabled=False)
    create_webhook(factory.realm("other"), url="https://hooks.example.com/other")
    db.session.commit()

    create_user(acme, email="carol@example.com", password=None)
    db.session.commit()

    assert _deliveries(event_type="user.created") == []


def test_a_delivery_that_never_gets_through_is_given_up_after_the_retry_window(app, acme, receiver):
    hooks = receiver()  # never started: nothing listens on its port
    webhook, _ = create_webhook(acme, url=f"{hooks.url}/in", event_types=["user.created"])
    db.session.commit()
    create_user(acme, email="dave@example.com", password=None)
    db.session.commit()
    [delivery] = _deliveries(event_type="user.created")
    delivery.created_at -= dt.timedelta(hours=23, minutes=59, seconds=59)
    db.session.commit()

    deliver_due(app)

    [delivery] = _deliveries(event_type="user.created")
    assert delivery.status == "failed" and delivery.attempts == 1 and delivery.next_attempt_at is None
    assert "Connection refused" in delivery.last_error and delivery.finished_at


def test_every_event_type_the_code_records_is_in_the_catalogue():
    recorded = set()
    for path in IDP.rglob("*.py"):
        recorded |= set(re.findall(r"record_event\(\s*\"([a-z_]+\.[a-z_]+)\"", path.read_text()))
    assert recorded and recorded <= set(EVENT_TYPES), sorted(recorded - set(EVENT_TYPES))


def test_a_removed_webhook_takes_its_log_with_it_and_hears_nothing_of_its_removal(acme):
    from idp.webhooks.subscriptions import delete_webhook

    staying, _ = create_webhook(acme, url="https://hooks.example.com/staying")
    leaving, _ = create_webhook(acme, url="https://hooks.example.com/leaving")
    db.session.commit()

    delete_webhook(leaving)
    db.session.commit()

    assert {d.webhook_id for d in _deliveries()} == {staying.id}
    assert [d.event_type for d in _deliveries(event_type="webhook.deleted")] == ["webhook.deleted"]


def test_a_webhook_added_after_its_realm_was_looked_up_hears_the_next_event(app, acme):
    """Which event types a realm's webhooks want is read from the per-process lookup cache while
    serving requests (every login records several events); adding a webhook is seen at once."""
    from idp.webhooks.outbox import subscribed_types

    with app.test_request_context("/"):
        assert subscribed_types(acme) == ()
        create_webhook(acme, url="https://hooks.example.com/a", event_types=["user.*"])
        db.session.commit()
        assert subscribed_types(acme) == (("user.*",),)
        second = create_user(acme, email="second@example.com", password=None)
        db.session.commit()

    assert [json.loads(d.payload)["data"]["user_id"] for d in _deliveries(event_type="user.created")] == [second.id]
