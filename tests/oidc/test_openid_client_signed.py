"""openid-client 6 (Node) as a real relying party that holds a key pair instead of a secret:
it authenticates with private_key_jwt at the token endpoint (code and refresh), and sends its
authorization request as a signed request object (RFC 9101); a browser logs the user in."""
from __future__ import annotations

import json
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ..relying_parties.node import NodeRelyingParty
from .conftest import EMAIL
from .jwt_clients import new_key, public_jwks


@pytest.mark.parametrize("request_object", [False, True], ids=["private_key_jwt", "private_key_jwt+request_object"])
def test_openid_client_logs_a_user_in_with_private_key_jwt(provider, browser, request_object):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    key = new_key("ES256", kid="web-shop-1")
    client_id, secret = provider.client(redirect_uri=f"http://127.0.0.1:{port}/cb", name="Web shop",
                                        token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key),
                                        require_signed_request_object=request_object)
    assert secret is None
    app = NodeRelyingParty("private_key_jwt.mjs", {
        "ISSUER": provider.issuer, "CLIENT_ID": client_id, "CALLBACK_PORT": str(port),
        "PRIVATE_JWK": json.dumps(key.as_dict(private=True)), "REQUEST_OBJECT": "1" if request_object else "0"})
    try:
        started = app.next_line()
        assert started["step"] == "url", started
        query = parse_qs(urlsplit(started["url"]).query)
        assert ("request" in query) == request_object

        landing = browser.log_in(browser.open(started["url"]))
        assert landing.left_to and landing.left_to.startswith(f"http://127.0.0.1:{port}/cb"), landing.page[:500]
        assert requests.get(landing.left_to, timeout=30).text == "signed in"

        result = app.next_line()
        assert result["step"] == "tokens", result
        assert result["claims"]["email"] == EMAIL and result["refreshed"]
        assert set(result["scope"].split()) == {"openid", "email", "offline_access"}
    finally:
        app.close()
