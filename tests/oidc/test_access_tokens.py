"""Access tokens are JWTs in the RFC 9068 profile, signed ES256, so that a resource server can
verify them offline with nothing but the realm's JWKS."""
from __future__ import annotations

import time

import requests
from joserfc import jwt
from joserfc.jwk import KeySet


def _verify_offline(provider, access_token: str):
    jwks = KeySet.import_key_set(requests.get(provider.url("jwks"), timeout=5).json())
    token = jwt.decode(access_token, jwks, algorithms=["ES256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": provider.issuer}, exp={"essential": True}).validate(token.claims)
    return token


def test_resource_server_verifies_a_users_access_token_offline(provider, browser, relying_app):
    rp = relying_app()
    result = rp.log_in(browser)

    token = _verify_offline(provider, result["token"]["access_token"])

    assert token.header["typ"] == "at+jwt" and token.header["alg"] == "ES256"
    claims = token.claims
    assert claims["sub"] == result["id_token_claims"]["sub"]
    assert claims["client_id"] == rp.client_id
    assert claims["aud"] == provider.issuer
    assert set(claims["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert claims["jti"]
    assert claims["iat"] <= time.time() < claims["exp"]
    assert (claims["auth_time"], claims["acr"], claims["amr"]) == (
        result["id_token_claims"]["auth_time"], "urn:idp:acr:sfa", ["pwd"])


def test_client_credentials_access_token_names_the_client_as_subject(provider):
    client_id, secret = provider.client(client_credentials=True)
    access_token = provider.oauth_session(client_id, secret).fetch_token(
        provider.url("token"), grant_type="client_credentials")["access_token"]

    claims = _verify_offline(provider, access_token).claims

    assert claims["sub"] == claims["client_id"] == client_id
    assert "auth_time" not in claims


def test_a_client_credentials_token_carries_only_scopes_the_client_was_registered_for(provider):
    """A machine client cannot write its own permissions into its token: a scope it was not
    registered for is dropped from what is granted (as at the authorization endpoint), and the
    answer says what was (RFC 6749 §3.3)."""
    client_id, secret = provider.client(client_credentials=True)
    answer = provider.oauth_session(client_id, secret).fetch_token(
        provider.url("token"), grant_type="client_credentials", scope="email admin payments:write")

    claims = _verify_offline(provider, answer["access_token"]).claims

    assert answer["scope"] == claims["scope"] == "email"
