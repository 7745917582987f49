"""A real relying app (Authlib's Flask client, configured by discovery) logs a user in with
code + PKCE + nonce over HTTP, verifies the ID token against the JWKS, and reads userinfo."""
from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc.errors import BadSignatureError

from .conftest import EMAIL

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def _header(jwt_string: str) -> dict:
    segment = jwt_string.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_relying_app_logs_user_in_and_verifies_id_token_signed_with_registered_alg(provider, browser, relying_app, alg):
    rp = relying_app(id_token_signed_response_alg=alg)
    before = int(time.time())

    result = rp.log_in(browser)

    claims = result["id_token_claims"]
    assert _header(result["token"]["id_token"])["alg"] == alg
    user_id = provider.factory.app.extensions  # noqa: F841 - keep the factory's app alive
    assert claims["iss"] == f"{provider.server.url}/realms/acme"
    assert claims["sub"] != EMAIL and len(claims["sub"]) == 32
    assert claims["aud"] == [rp.client_id] or claims["aud"] == rp.client_id
    assert before - 1 <= claims["iat"] <= int(time.time()) + 1
    assert claims["exp"] > claims["iat"]
    assert before - 1 <= claims["auth_time"] <= claims["iat"]
    assert claims["nonce"]
    assert claims["sid"]
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == "urn:idp:acr:sfa"
    assert claims["email"] == EMAIL
    assert claims["email_verified"] is False
    assert result["userinfo"]["sub"] == claims["sub"]
    assert result["userinfo"]["email"] == EMAIL
