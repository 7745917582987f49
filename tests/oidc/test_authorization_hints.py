"""What an authorization request says about the user and the claims it wants (OpenID Connect
Core §3.1.2.1, §5.5): the ``claims`` parameter, ``max_age`` and ``auth_time``, ``login_hint``
and ``id_token_hint``."""
from __future__ import annotations

import json
import time

from ..helpers import query_params
from .conftest import EMAIL, Browser
from .rp_app import CALLBACK_URL

BOB = "bob@example.com"


def test_claims_asked_for_individually_come_in_the_id_token_and_userinfo(provider, browser, relying_app):
    rp = relying_app(scope="openid")
    claims = {"id_token": {"email": {"essential": True}, "auth_time": {"essential": True}},
              "userinfo": {"name": None, "email_verified": None}}

    result = rp.log_in(browser, claims=json.dumps(claims))

    assert result["id_token_claims"]["email"] == EMAIL and result["id_token_claims"]["auth_time"]
    assert result["userinfo"]["name"] == "Alice Liddell" and result["userinfo"]["email_verified"] is False
    assert set(result["token"]["scope"].split()) == {"openid", "email", "profile"}


def test_an_acr_requested_as_essential_in_claims_asks_for_that_level(provider, browser, relying_app):
    rp = relying_app(scope="openid")
    claims = {"id_token": {"acr": {"essential": True, "values": ["urn:idp:acr:sfa"]}}}

    result = rp.log_in(browser, claims=json.dumps(claims))

    assert result["id_token_claims"]["acr"] == "urn:idp:acr:sfa"


def test_a_malformed_claims_parameter_is_an_invalid_request_sent_to_the_app(provider, browser, relying_app):
    rp = relying_app(scope="openid")

    for bad in ("{not json", "[1, 2]", '{"id_token": []}', '{"userinfo": {"email": 3}}',
                '{"userinfo": {"email": {"essential": "yes"}}}'):
        landing = browser.open(rp.start_login(claims=bad))
        assert landing.left_to and landing.left_to.startswith(CALLBACK_URL), landing.page[:300]
        assert query_params(landing.left_to)["error"] == "invalid_request", bad


def test_discovery_says_the_claims_parameter_is_supported(provider):
    import requests

    metadata = requests.get(provider.url(".well-known/openid-configuration"), timeout=5).json()
    assert metadata["claims_parameter_supported"] is True


def test_auth_time_is_in_the_id_token_and_an_older_login_than_max_age_logs_in_again(provider, browser, relying_app):
    rp = relying_app()
    first = rp.log_in(browser, max_age="600")
    assert abs(first["id_token_claims"]["auth_time"] - time.time()) < 60

    time.sleep(1.1)
    landing = browser.open(rp.start_login(max_age="0"))
    assert landing.left_to is None and "Log in" in landing.page
    again = rp.finish_login(browser.log_in(landing).left_to)
    assert again["id_token_claims"]["auth_time"] > first["id_token_claims"]["auth_time"]


def test_login_hint_fills_in_the_email_on_the_login_page(provider, browser, relying_app):
    rp = relying_app()

    landing = browser.open(rp.start_login(login_hint="carol@example.com"))

    assert 'value="carol@example.com"' in landing.page


def test_id_token_hint_of_the_signed_in_user_gets_a_silent_code(provider, browser, relying_app):
    rp = relying_app()
    first = rp.log_in(browser)

    landing = browser.open(rp.start_login(prompt="none", id_token_hint=first["token"]["id_token"]))

    assert "code" in query_params(landing.left_to), landing.left_to


def test_id_token_hint_of_another_user_is_login_required_silently_and_a_new_login_otherwise(
        provider, browser, relying_app):
    provider.factory.user(provider.realm, email=BOB)
    rp = relying_app()
    bobs = rp.log_in(Browser(provider.server.url), email=BOB)["token"]["id_token"]
    rp.log_in(browser)  # this browser is Alice's

    silent = browser.open(rp.start_login(prompt="none", id_token_hint=bobs))
    interactive = browser.open(rp.start_login(id_token_hint=bobs))

    assert query_params(silent.left_to)["error"] == "login_required"
    assert interactive.left_to is None and f'value="{BOB}"' in interactive.page


def test_an_id_token_hint_not_issued_to_this_client_or_not_an_id_token_is_refused(provider, browser, relying_app):
    rp, other = relying_app(), relying_app()
    result = rp.log_in(browser)

    for hint in (other.log_in(browser)["token"]["id_token"], result["token"]["access_token"], "a.b.c"):
        landing = browser.open(rp.start_login(id_token_hint=hint))
        assert query_params(landing.left_to)["error"] == "invalid_request"
