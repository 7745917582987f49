"""openid-client 6 (Node) as a web app pushes its authorization request (RFC 9126) with PKCE,
the user logs in in Chromium from the bare ``request_uri`` URL, and openid-client redeems the
code: for a client that the operator made require pushed requests."""
from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

import pytest

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD

from ..relying_parties.node import NodeRelyingParty

pytestmark = pytest.mark.browser


def test_openid_client_logs_a_user_in_through_a_pushed_request_with_pkce(page, demo_without_mfa):
    from idp.services.clients import create_client, set_client_requires_par

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def register(realm, user):
        client, secret = create_client(realm, name="Web shop", client_id="web-shop",
                                       redirect_uris=[f"http://127.0.0.1:{port}/cb"])
        set_client_requires_par(client, True)
        return secret

    secret = demo_without_mfa.change(register)
    app = NodeRelyingParty("par.mjs", {"ISSUER": demo_without_mfa.realm_url(), "CLIENT_ID": "web-shop",
                                       "CLIENT_SECRET": secret, "CALLBACK_PORT": str(port)})
    try:
        started = app.next_line()
        assert started["step"] == "url", started
        query = parse_qs(urlsplit(started["url"]).query)
        assert set(query) == {"client_id", "request_uri"}, "the browser carries nothing but the request_uri"

        page.goto(started["url"])
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("signed in").wait_for()

        result = app.next_line()
        assert result["step"] == "tokens", result
        assert result["claims"]["email"] == DEMO_EMAIL and result["claims"]["amr"] == ["pwd"]
        assert result["has_refresh_token"] and set(result["scope"].split()) == {"openid", "email", "offline_access"}
    finally:
        app.close()
