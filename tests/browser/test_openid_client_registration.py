"""openid-client 6 (Node) registers itself with an initial access token from the operator
(RFC 7591), the user logs in in Chromium and allows the new (third-party) app on the consent
page, openid-client redeems the code as the client it just became and reads its own
registration back (RFC 7592)."""
from __future__ import annotations

import socket

import pytest

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD

from ..relying_parties.node import NodeRelyingParty

pytestmark = pytest.mark.browser


def test_openid_client_registers_itself_then_logs_a_user_in_as_the_new_client(page, demo_without_mfa):
    from idp.services.client_registration import create_initial_access_token
    from idp.services.realms import update_realm

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def open_registration(realm, user):
        update_realm(realm, dynamic_client_registration=True)
        return create_initial_access_token(realm, expires_in=600, max_uses=1)[1]

    token = demo_without_mfa.change(open_registration)
    app = NodeRelyingParty("register.mjs", {"ISSUER": demo_without_mfa.realm_url(), "INITIAL_TOKEN": token,
                                            "CALLBACK_PORT": str(port)})
    try:
        registered = app.next_line()
        assert registered["step"] == "registered", registered
        assert registered["has_secret"] and registered["registration_client_uri"].endswith(registered["client_id"])
        started = app.next_line()
        assert started["step"] == "url", started

        page.goto(started["url"])
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Allow Self-registered shop to access your account?").wait_for()
        page.get_by_role("button", name="Allow").click()
        page.get_by_text("signed in").wait_for()

        result = app.next_line()
        assert result["step"] == "tokens", result
        assert result["claims"]["email"] == DEMO_EMAIL and result["claims"]["aud"] == [registered["client_id"]]
        assert result["has_refresh_token"] and result["registration_read"] == 200
        assert result["registered_name"] == "Self-registered shop"
    finally:
        app.close()
