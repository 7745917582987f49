"""The grants: one module each under ``idp/oidc/grants/``, registered in one list, and discovery
says exactly what that list holds. Each registered grant keeps the grant contract."""
from __future__ import annotations

import requests

from idp.oidc.grants import REGISTERED
from idp.oidc.grants.base import GrantSpec
from idp.services.client_authentication import AUTH_METHODS


def test_every_registered_grant_keeps_the_grant_contract(ctx):
    from authlib.oauth2.rfc6749.grants import BaseGrant

    from idp.oidc.dpop import SenderConstrainedGrant

    seen = set()
    for spec in REGISTERED:
        assert isinstance(spec, GrantSpec)
        assert issubclass(spec.grant_class, BaseGrant) and spec.grant_type not in seen
        assert issubclass(spec.grant_class, SenderConstrainedGrant), "every grant issues DPoP-bound tokens (RFC 9449)"
        assert spec.description and callable(spec.client_rule)
        assert set(spec.token_endpoint_auth_methods) <= set(AUTH_METHODS)
        seen.add(spec.grant_type)


def test_discovery_lists_exactly_the_registered_grants_and_their_methods(provider):
    metadata = requests.get(provider.url(".well-known/openid-configuration"), timeout=5).json()

    assert metadata["grant_types_supported"] == [spec.grant_type for spec in REGISTERED]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        method for spec in REGISTERED for method in spec.token_endpoint_auth_methods}
    assert metadata["response_types_supported"] == ["code"]


def test_a_confidential_client_that_did_not_ask_for_client_credentials_is_refused_it(provider):
    client_id, secret = provider.client()

    response = requests.post(provider.url("token"), data={"grant_type": "client_credentials"},
                             auth=(client_id, secret), timeout=5)

    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


def test_a_service_with_only_client_credentials_gets_tokens_and_cannot_log_users_in(provider):
    client_id, secret = provider.factory.client(provider.realm, redirect_uri="https://unused.example/cb",
                                                grant_types=["client_credentials"])

    token = requests.post(provider.url("token"), data={"grant_type": "client_credentials"},
                          auth=(client_id, secret), timeout=5)
    authorize = requests.get(provider.url("authorize"), params={
        "client_id": client_id, "response_type": "code", "redirect_uri": "https://unused.example/cb",
        "scope": "openid", "state": "s"}, allow_redirects=False, timeout=5)

    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    assert authorize.status_code == 302 and "error=unauthorized_client" in authorize.headers["Location"]


def test_the_management_apis_list_of_grant_types_is_the_registry(ctx):
    from idp.services.clients import GRANT_TYPES

    assert list(GRANT_TYPES) == [spec.grant_type for spec in REGISTERED]
