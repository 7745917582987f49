"""`idp keys rotate`: new tokens are signed with the new key; tokens signed before stay valid
because the previous keys stay in the JWKS until what they signed has expired."""
from __future__ import annotations

import base64
import json

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet


def _kid(jwt_string: str) -> str:
    segment = jwt_string.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["kid"]


def _jwks(provider) -> dict:
    return requests.get(provider.url("jwks"), timeout=5).json()


def _userinfo_status(provider, access_token: str) -> int:
    return requests.get(provider.url("userinfo"), headers={"Authorization": f"Bearer {access_token}"}, timeout=5).status_code


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_rotated_keys_sign_new_tokens_and_old_tokens_still_verify(provider, browser, relying_app, runner, alg):
    rp = relying_app(id_token_signed_response_alg=alg)
    before = rp.log_in(browser)["token"]

    result = runner("keys", "rotate", "--realm", "acme")

    assert result.exit_code == 0, result.output
    after = rp.log_in(browser, prompt="login")["token"]  # the same relying app verifies the new key
    assert _kid(after["id_token"]) != _kid(before["id_token"])
    assert _kid(after["access_token"]) != _kid(before["access_token"])
    assert _kid(after["id_token"]) in result.output
    published = KeySet.import_key_set(_jwks(provider))
    for token in (before["id_token"], before["access_token"], after["id_token"], after["access_token"]):
        jwt.decode(token, published, algorithms=["RS256", "ES256"])
    assert _userinfo_status(provider, before["access_token"]) == 200
    assert _userinfo_status(provider, after["access_token"]) == 200


def test_rotation_publishes_new_keys_alongside_the_previous_ones(provider, runner):
    old_kids = {key["kid"] for key in _jwks(provider)["keys"]}

    assert runner("keys", "rotate", "--realm", "acme").exit_code == 0

    keys = _jwks(provider)["keys"]
    assert old_kids < {key["kid"] for key in keys}
    assert sorted(key["alg"] for key in keys) == sorted(["RS256", "ES256", "EdDSA"] * 2)


def test_rotating_one_realm_leaves_the_other_realms_keys_alone(provider, runner):
    default_kids = {k["kid"] for k in requests.get(f"{provider.server.url}/realms/default/jwks", timeout=5).json()["keys"]}
    assert runner("keys", "rotate", "--realm", "acme").exit_code == 0
    assert {k["kid"] for k in requests.get(f"{provider.server.url}/realms/default/jwks", timeout=5).json()["keys"]} == default_kids


def test_rotating_keys_of_an_unknown_realm_fails_with_one_line(runner):
    result = runner("keys", "rotate", "--realm", "nope")
    assert result.exit_code != 0
    assert result.output.strip() == "Error: realm 'nope' does not exist"
