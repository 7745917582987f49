"""Discovery is complete and truthful: it validates, and every endpoint it names answers."""
from __future__ import annotations

import pytest
import requests
from authlib.oidc import rpinitiated
from authlib.oidc.discovery import OpenIDProviderMetadata


@pytest.fixture
def metadata(provider):
    response = requests.get(provider.url(".well-known/openid-configuration"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def test_discovery_document_validates_as_openid_provider_metadata(provider, metadata):
    OpenIDProviderMetadata(metadata).validate(metadata_classes=[rpinitiated.OpenIDProviderMetadata])
    assert metadata["issuer"] == f"{provider.server.url}/realms/acme"


def test_discovery_advertises_what_the_provider_does(metadata):
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert set(metadata["id_token_signing_alg_values_supported"]) == {"RS256", "ES256", "EdDSA"}
    assert set(metadata["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials",
                                                      "urn:ietf:params:oauth:grant-type:device_code",
                                                      "urn:ietf:params:oauth:grant-type:token-exchange"}
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "none", "client_secret_jwt", "private_key_jwt"}
    assert set(metadata["token_endpoint_auth_signing_alg_values_supported"]) == {
        "RS256", "PS256", "ES256", "EdDSA", "HS256"}, "each exercised in tests/oidc/test_client_assertions.py"
    assert metadata["request_parameter_supported"] is True
    assert metadata["request_uri_parameter_supported"] is False, "only pushed requests' URIs"
    assert set(metadata["request_object_signing_alg_values_supported"]) == {
        "RS256", "PS256", "ES256", "EdDSA", "HS256"}, "each exercised in tests/oidc/test_request_objects.py"
    assert {"openid", "profile", "email"} <= set(metadata["scopes_supported"])
    assert {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "email",
            "email_verified", "name"} <= set(metadata["claims_supported"])
    assert metadata["subject_types_supported"] == ["public"]


ENDPOINT_PROBES = [
    # (metadata key, method, expected status, expected error code or None for a page)
    ("authorization_endpoint", "GET", 400, None),
    ("token_endpoint", "POST", 400, "unsupported_grant_type"),
    ("userinfo_endpoint", "GET", 401, None),
    ("jwks_uri", "GET", 200, None),
    ("revocation_endpoint", "POST", 401, "invalid_client"),
    ("introspection_endpoint", "POST", 401, "invalid_client"),
    ("end_session_endpoint", "GET", 200, None),
    ("device_authorization_endpoint", "POST", 401, "invalid_client"),
    ("pushed_authorization_request_endpoint", "POST", 401, "invalid_client"),
]


@pytest.mark.parametrize(("key", "method", "status", "error"), ENDPOINT_PROBES)
def test_every_advertised_endpoint_answers_a_bare_request_without_failing(metadata, key, method, status, error):
    response = requests.request(method, metadata[key], timeout=5, allow_redirects=False)
    assert response.status_code == status, response.text[:500]
    if error:
        assert response.json()["error"] == error


def test_jwks_publishes_one_public_signing_key_per_algorithm(metadata):
    keys = requests.get(metadata["jwks_uri"], timeout=5).json()["keys"]
    assert sorted(key["alg"] for key in keys) == ["ES256", "EdDSA", "RS256"]
    by_alg = {key["alg"]: key for key in keys}
    assert by_alg["RS256"]["kty"] == "RSA"
    assert (by_alg["ES256"]["kty"], by_alg["ES256"]["crv"]) == ("EC", "P-256")
    assert (by_alg["EdDSA"]["kty"], by_alg["EdDSA"]["crv"]) == ("OKP", "Ed25519")
    for key in keys:
        assert key["use"] == "sig" and key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "private key material published"


def test_each_realm_has_its_own_issuer_and_keys(provider):
    factory = provider.factory
    factory.realm("other")
    acme = requests.get(provider.url(".well-known/openid-configuration"), timeout=5).json()
    other = requests.get(f"{provider.server.url}/realms/other/.well-known/openid-configuration", timeout=5).json()
    assert other["issuer"] == f"{provider.server.url}/realms/other" != acme["issuer"]
    acme_kids = {k["kid"] for k in requests.get(acme["jwks_uri"], timeout=5).json()["keys"]}
    other_kids = {k["kid"] for k in requests.get(other["jwks_uri"], timeout=5).json()["keys"]}
    assert not acme_kids & other_kids


@pytest.mark.parametrize("key", ["jwks_uri", "discovery"])
def test_discovery_and_jwks_may_be_cached_by_relying_apps(provider, metadata, key):
    url = provider.url(".well-known/openid-configuration") if key == "discovery" else metadata[key]
    cache_control = requests.get(url, timeout=5).headers["Cache-Control"]
    assert "public" in cache_control and "max-age=300" in cache_control


@pytest.mark.parametrize("path", [".well-known/openid-configuration", "jwks"])
def test_repeated_document_requests_get_the_same_answer_and_a_304_for_a_known_etag(provider, path):
    first = requests.get(provider.url(path), timeout=5)
    again = requests.get(provider.url(path), timeout=5)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    for header in ("Cache-Control", "Access-Control-Allow-Origin", "X-Content-Type-Options", "X-Frame-Options"):
        assert again.headers[header] == first.headers[header]
    assert "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]

    unchanged = requests.get(provider.url(path), headers={"If-None-Match": first.headers["ETag"]}, timeout=5)
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["ETag"] == first.headers["ETag"]
    changed = requests.get(provider.url(path), headers={"If-None-Match": '"something-else"'}, timeout=5)
    assert changed.status_code == 200 and changed.content == first.content
    head = requests.head(provider.url(path), timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(first.content)


def test_a_key_rotation_reaches_the_jwks_at_once(provider):
    from idp.extensions import db
    from idp.services.keys import rotate_realm_keys

    before = {key["kid"] for key in requests.get(provider.url("jwks"), timeout=5).json()["keys"]}
    rotate_realm_keys(provider.realm)
    db.session.commit()
    after = {key["kid"] for key in requests.get(provider.url("jwks"), timeout=5).json()["keys"]}
    assert after - before, "the new keys are published"


def test_an_unknown_realm_is_a_404_even_after_other_documents_were_cached(provider):
    assert requests.get(provider.url("jwks"), timeout=5).status_code == 200
    response = requests.get(f"{provider.server.url}/realms/nope/jwks", timeout=5)
    assert response.status_code == 404 and response.json()["error"] == "not_found"
