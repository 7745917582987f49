"""No event lost: the event row and its deliveries are written with the change that caused them,
and a worker sends them until the receiver has them, whatever dies in between. The receiver
de-duplicates by ``webhook-id`` (as the Standard Webhooks spec asks), so "exactly once" is
what it keeps."""
from __future__ import annotations

import collections

from idp.extensions import db
from idp.models import WebhookDelivery
from idp.services.users import create_user
from idp.webhooks.subscriptions import create_webhook

from .conftest import wait_until


def _new_users(realm, start, count):
    for number in range(start, start + count):
        create_user(realm, email=f"user{number}@example.com", password=None)
        db.session.commit()


def _all_delivered():
    db.session.expire_all()
    pending = db.session.scalar(db.select(db.func.count(WebhookDelivery.id)).where(
        WebhookDelivery.status != "succeeded"))
    db.session.rollback()
    return pending == 0


def test_every_event_arrives_exactly_once_per_webhook_when_receiver_and_worker_die_mid_burst(
        factory, acme, receiver, worker):
    hooks = receiver()
    everything, everything_secret = create_webhook(acme, url=f"{hooks.url}/all")
    users_only, users_secret = create_webhook(acme, url=f"{hooks.url}/users", event_types=["user.*"])
    db.session.commit()
    hooks.start(everything_secret, users_secret)
    first_worker = worker("first").start()

    _new_users(acme, 0, 40)
    wait_until(lambda: len(hooks.kept()) >= 15, message="the first deliveries")
    hooks.kill()
    first_worker.kill()
    assert len(hooks.kept()) < 80, "the kill came in the middle of the burst"
    _new_users(acme, 40, 40)  # while nothing is delivering

    hooks.restart()
    worker("second").start()
    wait_until(_all_delivered, timeout=120, message="every delivery to succeed")

    deliveries = db.session.scalars(db.select(WebhookDelivery)).all()
    expected = collections.Counter((d.webhook_id, d.message_id) for d in deliveries)
    paths = {"/all": everything.id, "/users": users_only.id}
    kept = collections.Counter((paths[message["path"]], message["id"]) for message in hooks.kept())
    assert kept == expected
    assert set(kept.values()) == {1}
    created = collections.Counter(message["path"] for message in hooks.kept() if message["type"] == "user.created")
    assert created == {"/all": 80, "/users": 80}
    assert {message["payload"]["data"]["email"] for message in hooks.kept()
            if message["type"] == "user.created" and message["path"] == "/users"} == \
        {f"user{number}@example.com" for number in range(80)}
    assert hooks.rejected() == []
    # each message was also verified against the right webhook's secret
    assert {message["secret"] for message in hooks.kept() if message["path"] == "/users"} == {1}


def test_two_workers_never_deliver_the_same_message_twice(factory, acme, receiver, worker):
    """On PostgreSQL the claims use SELECT ... FOR UPDATE SKIP LOCKED (on SQLite the single
    writer serialises them): with nothing failing, no message reaches the receiver twice."""
    hooks = receiver()
    first, first_secret = create_webhook(acme, url=f"{hooks.url}/one")
    second, second_secret = create_webhook(acme, url=f"{hooks.url}/two")
    db.session.commit()
    hooks.start(first_secret, second_secret)
    _new_users(acme, 0, 60)
    worker("a").start()
    worker("b").start()

    wait_until(_all_delivered, timeout=120, message="every delivery to succeed")

    assert hooks.duplicates() == []
    assert len(hooks.kept()) == db.session.scalar(db.select(db.func.count(WebhookDelivery.id)))
    assert len({message["id"] for message in hooks.kept()}) == len(hooks.kept())
    assert db.session.scalar(db.select(db.func.max(WebhookDelivery.attempts))) == 1
