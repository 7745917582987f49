"""Native apps and the demo listen on loopback at a port of the moment: for a public client
registered with a loopback redirect URI, a request may name any port and any loopback name
(RFC 8252 §7.3, §8.3). Everything else is matched exactly (RFC 9700 §2.1)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from ..flows import HostedLogin
from ..helpers import last_sms_code
from .conftest import REALM, Browser, authorize_params, pkce_pair

REGISTERED = "http://127.0.0.1/callback"


def _authorize(client, client_id, redirect_uri):
    return client.get(f"/realms/{REALM}/authorize",
                      query_string=authorize_params(client_id, pkce_pair()[1], redirect_uri=redirect_uri))


@pytest.mark.parametrize("redirect_uri", [
    "http://127.0.0.1:51004/callback", "http://localhost:51004/callback", "http://[::1]:51004/callback",
    "http://localhost/callback", REGISTERED,
])
def test_a_native_app_may_name_any_port_and_loopback_name(client, factory, realm, redirect_uri):
    client_id, _ = factory.client(realm, redirect_uri=REGISTERED, public=True)
    login = HostedLogin(client, REALM, client_id, redirect_uri=redirect_uri)
    login.authorize()
    login.log_in()
    tokens = login.exchange_code()
    assert login.callback_params()["state"] and tokens["access_token"]


@pytest.mark.parametrize(("redirect_uri", "reason"), [
    ("http://127.0.0.1:51004/elsewhere", "another path"),
    ("http://127.0.0.1:51004/callback?x=1", "an added query"),
    ("https://127.0.0.1:51004/callback", "https is not the registered scheme"),
    ("http://127.0.0.2:51004/callback", "not a loopback name of ours"),
    ("http://localhost.evil.example:51004/callback", "a host that begins like localhost"),
    ("http://user@127.0.0.1:51004/callback", "credentials in the URI"),
    ("http://127.0.0.1:99999/callback", "not a port"),
])
def test_a_native_app_still_matches_everything_but_the_port_and_loopback_name(client, factory, realm,
                                                                              redirect_uri, reason):
    client_id, _ = factory.client(realm, redirect_uri=REGISTERED, public=True)
    response = _authorize(client, client_id, redirect_uri)
    assert response.status_code == 400 and "Location" not in response.headers, reason


@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1:51004/callback", "http://localhost/callback"])
def test_a_confidential_client_on_loopback_is_matched_exactly(client, factory, realm, redirect_uri):
    client_id, _ = factory.client(realm, redirect_uri=REGISTERED)
    response = _authorize(client, client_id, redirect_uri)
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_public_client_on_a_real_host_is_matched_exactly(client, factory, realm):
    client_id, _ = factory.client(realm, redirect_uri="https://app.example.com/callback", public=True)
    response = _authorize(client, client_id, "https://app.example.com:8443/callback")
    assert response.status_code == 400 and "Location" not in response.headers


def test_the_demo_opened_as_localhost_logs_in_and_out(live_server, instance_path):
    """`idp demo` prints http://127.0.0.1:PORT/demo/; a newcomer types localhost instead."""
    from idp.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_PHONE, setup_demo

    with live_server.app.app_context():
        setup_demo(live_server.url)
    demo = f"http://localhost:{urlsplit(live_server.url).port}/demo/"

    with Browser(live_server.url) as browser:
        assert "Log in" in browser.http.get(demo).text
        landing = browser.open(f"{demo}login")
        assert landing.left_to is None and "Log in" in landing.page, landing.page[:500]
        landing = browser.log_in(landing, DEMO_EMAIL, DEMO_PASSWORD)
        landing = browser.submit(landing, {"code": last_sms_code(instance_path, DEMO_PHONE)})
        landing = browser.submit(landing, {"saved": "y"})
        assert landing.left_to and landing.left_to.startswith(f"{demo}callback?"), landing.page[:500]
        home = browser.http.get(landing.left_to)
        assert home.url == demo and home.status_code == 200
        assert DEMO_EMAIL in home.text and re.search(r"urn:idp:acr:mfa", home.text)

        logout = browser.http.get(f"{demo}logout", allow_redirects=False)
        landing = browser._follow(browser.http.get(logout.headers["Location"], allow_redirects=False))
        if landing.left_to is None:  # asked to confirm
            landing = browser.submit(landing, {})
        assert landing.left_to == demo
