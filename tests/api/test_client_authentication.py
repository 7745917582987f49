"""/api/v1/realms/R/clients: register how an app authenticates (``token_endpoint_auth_method``)
and its public keys (``jwks`` or ``jwks_uri``), as ``idp clients`` does."""
from __future__ import annotations

import pytest

from ..oidc.jwt_clients import assertion_form, client_assertion, new_key, public_jwks
from .conftest import REALM


def test_operator_registers_a_private_key_jwt_client_and_it_authenticates_with_its_key(api, client):
    key = new_key("ES256")
    created = api.post("/clients", {"name": "Billing", "grant_types": ["client_credentials"],
                                    "token_endpoint_auth_method": "private_key_jwt", "jwks": public_jwks(key)})

    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["client_secret"] is None and body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["jwks"]["keys"][0]["kid"] == key.kid and "d" not in body["jwks"]["keys"][0]
    token = client.post(f"/realms/{REALM}/token", data=assertion_form(
        body["client_id"], client_assertion(body["client_id"], key, "ES256", aud=f"http://localhost/realms/{REALM}"),
        grant_type="client_credentials"))
    assert token.status_code == 200, token.get_json()


def test_switching_to_client_secret_jwt_answers_the_new_secret_once(api, factory, realm):
    client_id, old_secret = factory.client(realm, name="Shop")

    switched = api.patch(f"/clients/{client_id}", {"token_endpoint_auth_method": "client_secret_jwt",
                                                   "require_signed_request_object": True})

    assert switched.status_code == 200, switched.get_json()
    assert switched.get_json()["client_secret"] not in (None, old_secret)
    shown = api.get(f"/clients/{client_id}").get_json()
    assert "client_secret" not in shown and shown["token_endpoint_auth_method"] == "client_secret_jwt"
    assert shown["require_signed_request_object"] is True


@pytest.mark.parametrize(("change", "field"), [
    ({"token_endpoint_auth_method": "private_key_jwt"}, "jwks"),
    ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "jwks"),
    ({"jwks": "not an object"}, "jwks"),
    ({"jwks_uri": "https://192.168.1.5/jwks"}, "jwks_uri"),
    ({"token_endpoint_auth_method": "tls_client_auth"}, "token_endpoint_auth_method"),
])
def test_keys_or_methods_that_cannot_work_are_refused_and_change_nothing(api, factory, realm, change, field):
    client_id, _ = factory.client(realm, name="Shop")
    before = api.get(f"/clients/{client_id}").get_json()

    response = api.patch(f"/clients/{client_id}", change)

    assert response.status_code in (400, 422), response.get_json()
    assert field in response.get_json()["fields"]
    assert api.get(f"/clients/{client_id}").get_json() == before
