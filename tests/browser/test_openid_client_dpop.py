"""openid-client 6 (Node) as a single-page app with DPoP (RFC 9449): the user logs in in
Chromium, and openid-client redeems the code with a proof of its key (the code was requested
for that key with ``dpop_jkt``), reads userinfo with the DPoP-bound token, refreshes it (the
public client's refresh token is bound to the key) and reads userinfo again. The provider
requires DPoP of this client and server nonces of every proof, which openid-client handles."""
from __future__ import annotations

import base64
import json
import socket

import pytest

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD

from ..relying_parties.node import NodeRelyingParty

pytestmark = pytest.mark.browser


def _claims(jwt_string: str) -> dict:
    payload = jwt_string.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_openid_client_runs_a_dpop_bound_code_flow_with_pkce_userinfo_and_a_refresh(page, make_demo_server):
    from idp.services.clients import create_client
    from idp.services.mfa_users import admin_set_mfa

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = make_demo_server(tokens={"dpop_require_nonce": True})

    def register(realm, user):
        admin_set_mfa(user, False)
        create_client(realm, name="Single-page app", client_id="spa", public=True,
                      redirect_uris=[f"http://127.0.0.1:{port}/cb"], dpop_bound_access_tokens=True)

    demo.change(register)
    app = NodeRelyingParty("dpop.mjs", {"ISSUER": demo.realm_url(), "CLIENT_ID": "spa", "CALLBACK_PORT": str(port)})
    try:
        started = app.next_line()
        assert started["step"] == "url", started
        assert "dpop_jkt=" in started["url"]

        page.goto(started["url"])
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("signed in").wait_for()

        result = app.next_line()
        assert result["step"] == "tokens", result
        assert result["token_type"].lower() == "dpop" and result["refreshed_token_type"].lower() == "dpop"
        for token in (result["access_token"], result["refreshed_access_token"]):
            assert _claims(token)["cnf"] == {"jkt": result["thumbprint"]}
        assert result["userinfo"]["email"] == DEMO_EMAIL and result["userinfo_after_refresh"]["email"] == DEMO_EMAIL
        assert result["rotated"]
    finally:
        app.close()
