"""The browser session: a second app's login is single sign-on, unless the app demands a fresh
login (``prompt=login``, ``max_age``) or asks silently (``prompt=none``)."""
from __future__ import annotations

import pytest

from ..helpers import query_params
from .conftest import Browser
from .rp_app import CALLBACK_URL, create_rp_app


def test_second_app_in_the_same_browser_gets_its_code_without_the_login_page(provider, browser, relying_app):
    first = relying_app().log_in(browser)
    second_app = relying_app()

    landing = browser.open(second_app.start_login())

    assert landing.left_to and landing.left_to.startswith(CALLBACK_URL), "the login page was shown again"
    second = second_app.finish_login(landing.left_to)
    for claim in ("sub", "sid", "auth_time", "amr", "acr"):
        assert second["id_token_claims"][claim] == first["id_token_claims"][claim]


def test_another_browser_gets_the_login_page(provider, browser, relying_app):
    rp = relying_app()
    rp.log_in(browser)
    with Browser(provider.server.url) as other_browser:
        landing = other_browser.open(rp.start_login())
    assert landing.left_to is None and "Log in" in landing.page


@pytest.mark.parametrize("params", [{"prompt": "login"}, {"max_age": "0"}], ids=["prompt=login", "max_age=0"])
def test_app_can_demand_a_fresh_login_despite_the_session(provider, browser, relying_app, params):
    rp = relying_app()
    first = rp.log_in(browser)

    landing = browser.open(rp.start_login(**params))

    assert landing.left_to is None and "Log in" in landing.page
    again = rp.finish_login(browser.log_in(landing).left_to)
    assert again["id_token_claims"]["auth_time"] >= first["id_token_claims"]["auth_time"]
    assert again["id_token_claims"]["sub"] == first["id_token_claims"]["sub"]


def test_a_recent_enough_login_satisfies_max_age(provider, browser, relying_app):
    rp = relying_app()
    rp.log_in(browser)
    landing = browser.open(rp.start_login(max_age="3600"))
    assert landing.left_to and landing.left_to.startswith(CALLBACK_URL)
    assert "auth_time" in rp.finish_login(landing.left_to)["id_token_claims"]


def test_silent_request_without_a_session_returns_login_required_to_the_app(provider, browser, relying_app):
    rp = relying_app()
    login_url = rp.start_login(prompt="none")

    landing = browser.open(login_url)

    assert landing.left_to and landing.left_to.startswith(CALLBACK_URL)
    params = query_params(landing.left_to)
    assert params["error"] == "login_required"
    assert params["state"] == query_params(login_url)["state"]
    assert "code" not in params


def test_silent_request_with_a_session_returns_a_code(provider, browser, relying_app):
    rp = relying_app()
    rp.log_in(browser)
    landing = browser.open(rp.start_login(prompt="none"))
    assert "code" in query_params(landing.left_to)
    assert rp.finish_login(landing.left_to)["userinfo"]["email"] == "alice@example.com"


def test_session_of_one_realm_is_no_session_in_another(provider, browser, relying_app):
    factory = provider.factory
    relying_app().log_in(browser)
    other = factory.realm("other")
    factory.user(other, email="alice@example.com")
    client_id, secret = factory.client(other, redirect_uri=CALLBACK_URL)
    other_app = create_rp_app(provider.server.realm_url("other"), client_id, secret).test_client()

    landing = browser.open(other_app.get("/login").location)

    assert landing.left_to is None and "Log in" in landing.page
