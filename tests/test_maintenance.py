"""The server purges expired rows by itself, every ``maintenance.purge_interval`` seconds: once per
interval among all the workers and machines sharing the database, in the background, and a
purge that fails is logged without touching the request that started it."""
from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest


def add_expired_login(app) -> str:
    from idp.extensions import db
    from idp.models import LoginTransaction, utcnow
    from idp.services.realms import find_realm

    with app.app_context():
        txn = LoginTransaction(id=uuid.uuid4().hex, realm_id=find_realm("default").id, client_id="",
                               authorization_request={}, browser_binding="b",
                               expires_at=utcnow() - dt.timedelta(hours=1))
        db.session.add(txn)
        db.session.commit()
        return txn.id


def still_stored(app, txn_id) -> bool:
    from idp.extensions import db
    from idp.models import LoginTransaction

    with app.app_context():
        return db.session.get(LoginTransaction, txn_id) is not None


def request_and_wait(app):
    """A request, then the purge thread it may have started."""
    assert app.test_client().get("/healthz").status_code == 200
    periodic = app.extensions["idp.periodic_purge"]
    if periodic.thread is not None:
        periodic.thread.join(timeout=30)
        assert not periodic.thread.is_alive()
    return periodic


@pytest.fixture
def two_servers(make_app):
    """Two app instances (as two workers or machines) on one database, purging every 5 min."""
    return [make_app(maintenance={"purge_interval": 300}) for _ in range(2)]


def test_periodic_purge_runs_once_per_interval_across_two_servers_sharing_the_database(two_servers):
    first, second = two_servers
    expired = add_expired_login(first)

    request_and_wait(first)
    assert not still_stored(first, expired), "the first request of the interval purged"

    expired_again = add_expired_login(first)
    periodic = request_and_wait(second)
    assert periodic.thread is not None, "the second server looked too..."
    assert still_stored(second, expired_again), "...but the first one had this interval"

    request_and_wait(first)
    assert still_stored(first, expired_again), "and the first waits for the next interval"


def test_the_next_interval_purges_again_on_whichever_server_looks_first(two_servers):
    from idp.extensions import db
    from idp.models import rate_limit_counters

    first, second = two_servers
    request_and_wait(first)
    request_and_wait(second)
    expired = add_expired_login(first)

    with first.app_context():  # five minutes pass
        db.session.execute(rate_limit_counters.update().values(expires_at=rate_limit_counters.c.expires_at - 300))
        db.session.commit()
    for app in two_servers:
        app.extensions["idp.periodic_purge"]._next_look -= 300
    request_and_wait(second)

    assert not still_stored(second, expired)


def test_a_failing_purge_is_logged_and_the_request_still_answers(make_app, monkeypatch, caplog):
    from idp.services import purge

    def broken(settings):
        raise RuntimeError("disk full")

    monkeypatch.setattr(purge, "purge_expired", broken)
    app = make_app(maintenance={"purge_interval": 300})

    with caplog.at_level(logging.ERROR):
        request_and_wait(app)

    assert "periodic purge failed" in caplog.text


def test_purge_interval_zero_turns_the_periodic_purge_off(make_app):
    app = make_app(maintenance={"purge_interval": 0})
    expired = add_expired_login(app)

    assert app.test_client().get("/healthz").status_code == 200

    assert "idp.periodic_purge" not in app.extensions
    assert still_stored(app, expired)
