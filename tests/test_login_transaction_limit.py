"""Every login stores a transaction and anyone may start one, so starting logins is limited per
client address, wherever logins start: /authorize, the account page, the direct-login API.
One budget per address (an IPv6 client's /64), counted in the shared rate-limit storage; over
it the caller gets a 429 with Retry-After and nothing is stored."""
from __future__ import annotations

import pytest

from .flows import REDIRECT_URI, HostedLogin, pkce_pair
from .helpers import PASSWORD, Factory, query_params


@pytest.fixture
def limited(make_app):
    """An app allowing 3 new logins per address per minute, realm acme with alice and a client.
    The per-IP form limit is raised so that only the new limit is tested."""

    def build(limit="3 per minute"):
        app = make_app(security={"login_transaction_rate_limit": limit, "form_rate_limit": "1000 per minute"})
        with app.app_context():
            factory = Factory(app)
            realm = factory.realm("acme")
            factory.user(realm, email="alice@example.com")
            app.client_id, app.client_secret = factory.client(realm)
        return app

    return build


def transactions(app) -> int:
    from idp.extensions import db
    from idp.models import LoginTransaction

    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(LoginTransaction))


def authorize(http, app, **extra):
    _verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT_URI,
              "scope": "openid", "state": "st4te", "code_challenge": challenge, "code_challenge_method": "S256",
              **extra}
    return http.get("/realms/acme/authorize", query_string=params)


def test_authorize_flood_from_one_address_gets_a_429_page_with_retry_after_and_stores_nothing_more(limited):
    app = limited()
    http = app.test_client()

    answers = [authorize(http, app) for _ in range(5)]

    assert [a.status_code for a in answers] == [302, 302, 302, 429, 429]
    refused = answers[-1]
    assert refused.mimetype == "text/html"
    assert "Too many logins were started from your network." in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert transactions(app) == 3

    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert authorize(elsewhere, app).status_code == 302, "another address has its own budget"


def test_two_servers_on_one_database_count_one_budget(limited, make_app):
    """The counters live in the shared rate-limit storage (here the database), not in a worker."""
    first = limited()
    second = make_app(security={"login_transaction_rate_limit": "3 per minute"})
    second.client_id = first.client_id

    answers = [authorize(app.test_client(), app).status_code for app in (first, second, first, second)]

    assert answers == [302, 302, 302, 429]
    from idp.extensions import db
    from idp.models import rate_limit_counters

    with second.app_context():
        counted = db.session.scalar(db.select(rate_limit_counters.c.count)
                                    .where(rate_limit_counters.c.key.like("%login-transactions%")))
    assert counted == 4


def test_anonymous_visits_to_the_account_page_count_against_the_same_budget(limited):
    app = limited()
    http = app.test_client()

    assert authorize(http, app).status_code == 302
    visits = [http.get("/realms/acme/account").status_code for _ in range(3)]

    assert visits == [302, 302, 429], "each anonymous visit starts a login"
    assert transactions(app) == 3


def test_french_page_says_how_long_to_wait(limited):
    app = limited("1 per hour")
    http = app.test_client()
    authorize(http, app)

    refused = http.get("/realms/acme/account", headers={"Accept-Language": "fr"})

    assert refused.status_code == 429
    assert "Trop de connexions ont été commencées depuis votre réseau." in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 60


def test_direct_login_api_over_the_limit_answers_429_json_with_retry_after(limited):
    app = limited("2 per minute")
    http = app.test_client()
    body = {"email": "alice@example.com", "password": PASSWORD, "client_id": app.client_id}

    answers = [http.post("/api/v1/realms/acme/sessions/authenticate", json=body) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert refused.get_json()["error"] == "too_many_requests"
    retry_after = refused.get_json()["retry_after"]
    assert 0 < retry_after <= 60
    assert abs(int(refused.headers["Retry-After"]) - retry_after) <= 1, "Flask-Limiter rounds it again"
    assert transactions(app) == 2


def test_silent_prompt_none_over_the_limit_goes_back_to_the_app_as_temporarily_unavailable(limited):
    """Nobody watches a prompt=none request (a hidden frame renewing a session): it gets the
    OAuth error at its redirect_uri rather than a page."""
    app = limited("1 per minute")
    http = app.test_client()
    login = HostedLogin(http, "acme", app.client_id, app.client_secret)
    login.authorize()
    login.log_in()
    assert login.redirected_to_app

    response = authorize(http, app, prompt="none")

    assert response.status_code == 302 and response.location.startswith(REDIRECT_URI)
    returned = query_params(response.location)
    assert returned["error"] == "temporarily_unavailable"
    assert returned["state"] == "st4te"
    assert transactions(app) == 1


def test_ipv6_addresses_of_one_slash_64_share_one_budget(limited):
    app = limited("2 per minute")

    def from_address(address):
        http = app.test_client()
        http.environ_base["REMOTE_ADDR"] = address
        return authorize(http, app).status_code

    assert [from_address(a) for a in ("2001:db8::1", "2001:db8::ffff:2", "2001:db8::3")] == [302, 302, 429]
    assert from_address("2001:db8:0:1::1") == 302, "the next /64 is someone else"


def test_logins_finishing_normally_stay_within_the_default_limit(make_app):
    """The default (60 a minute) leaves room for a person's logins: ten in a row work."""
    app = make_app()
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        factory.user(realm, email="alice@example.com")
        client_id, secret = factory.client(realm)
    for _ in range(10):
        login = HostedLogin(app.test_client(), "acme", client_id, secret)
        login.authorize()
        login.log_in()
        assert login.redirected_to_app


def test_a_limit_that_does_not_parse_stops_start_up(make_app):
    from idp.config import ConfigError

    with pytest.raises(ConfigError, match="security.login_transaction_rate_limit"):
        make_app(security={"login_transaction_rate_limit": "lots per minute"})
