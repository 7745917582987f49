"""Rate-limit counters in Redis (``redis.url``): shared by every server, and a Redis outage
answered with a 503 page and a retry hint, never a 500, a crash or a half-written record."""
from __future__ import annotations

import ipaddress
import secrets
import time
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from ..helpers import PASSWORD, csrf_token

REALM = "acme"
EMAIL = "bob@example.com"
REDIRECT_URI = "http://127.0.0.1:9999/callback"


@pytest.fixture
def acme(make_app):
    """Realm ``acme`` (password only), a client and bob."""
    from ..helpers import Factory

    app = make_app()
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm(REALM)
        client_id, client_secret = factory.client(realm)
        factory.user(realm, email=EMAIL)
    return {"client_id": client_id, "client_secret": client_secret}


@pytest.fixture
def database(make_app):
    """Read the shared database as the servers see it."""
    app = make_app()

    def scalar(statement):
        with app.app_context():
            from idp.extensions import db

            with db.engine.connect() as conn:
                return conn.execute(statement).scalar()

    return scalar


class Visitor:
    """A browser behind the load balancer at ``address`` (sent as X-Forwarded-For, which the
    servers trust from loopback): its own address keeps its counters apart from other tests'
    on a Redis server they share."""

    def __init__(self, address: str):
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = address

    def login_page(self, server, client_id):
        response = self.http.get(f"{server.url}/realms/{REALM}/authorize", timeout=10, params={
            "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
            "scope": "openid email", "state": "s", "code_challenge_method": "S256",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"})
        assert response.status_code == 200 and 'name="password"' in response.text, response.text[:300]
        return response

    def log_in(self, server, page, password="wrong password", **kwargs):
        """Post the login form of ``page`` to ``server``."""
        return self.http.post(f"{server.url}{urlsplit(page.url).path}", timeout=10, allow_redirects=False,
                              data={"csrf_token": csrf_token(page.text), "email": EMAIL, "password": password},
                              **kwargs)


def new_address() -> str:
    """An address in a /64 of its own: per-IP counters count an IPv6 client's /64."""
    return f"2001:db8:{secrets.token_hex(2)}:{secrets.token_hex(2)}::1"


def failed_logins(database) -> int:
    return database(sa.text("SELECT count(*) FROM audit_events WHERE event_type = 'login.failed'"))


def test_rate_limit_hits_on_one_server_count_on_the_other(acme, start_server, test_redis_url, database):
    import redis

    settings = {"IDP_REDIS_URL": test_redis_url, "IDP_SECURITY_FORM_RATE_LIMIT": "4 per minute",
                "IDP_SERVER_TRUSTED_PROXIES": "1"}
    first = start_server("first", **settings)
    second = start_server("second", public_url=first.url, **settings)
    address = new_address()
    visitor = Visitor(address)
    page = visitor.login_page(first, acme["client_id"])

    statuses = [visitor.log_in(server, page).status_code for server in (first, second, first, second, first)]

    assert statuses == [400, 400, 400, 400, 429]
    network = ipaddress.ip_network(f"{address}/64", strict=False)
    keys = redis.Redis.from_url(test_redis_url).keys(f"*{network}*")
    assert keys, "the counter is in Redis"
    assert database(sa.text("SELECT count(*) FROM rate_limit_counters")) == 0, "and not in the database"
    assert failed_logins(database) == 4, "the refused attempt was never checked"


def test_redis_killed_and_restarted_mid_run(acme, start_server, own_redis, database):
    settings = {"IDP_REDIS_URL": own_redis.url, "IDP_SERVER_TRUSTED_PROXIES": "1"}
    server = start_server("only", **settings)
    visitor = Visitor(new_address())
    page = visitor.login_page(server, acme["client_id"])
    assert visitor.log_in(server, page).status_code == 400
    assert failed_logins(database) == 1

    own_redis.kill()
    for _ in range(3):
        response = visitor.log_in(server, page, password=PASSWORD)
        assert response.status_code == 503, response.text[:300]
        assert response.headers["Retry-After"].isdigit()
        assert "try again in a few seconds" in response.text
    # Nothing was half done: no attempt recorded, the login still open and the same page usable.
    assert failed_logins(database) == 1
    assert database(sa.text("SELECT count(*) FROM login_transactions WHERE status = 'complete'")) == 0
    # Pages that count nothing keep working, and the workers did not die.
    assert requests.get(f"{server.url}/realms/{REALM}/.well-known/openid-configuration", timeout=5).status_code == 200
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert server.running
    # A server (re)started during the outage boots and answers the same way: no crash loop.
    late = start_server("late", public_url=server.url, **settings)
    assert visitor.log_in(late, page).status_code == 503

    own_redis.start()
    deadline = time.monotonic() + 10
    while (response := visitor.log_in(server, page, password=PASSWORD)).status_code == 503:
        assert time.monotonic() < deadline, "requests did not recover after Redis came back"
        time.sleep(0.2)
    assert response.status_code in (302, 303), response.text[:300]
    callback = response.headers["Location"]
    assert callback.startswith(REDIRECT_URI) and "code=" in callback
    assert server.running
