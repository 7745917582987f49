"""/api/v1/realms/R/clients: read the realm's clients (never a secret) and say which clients'
tokens an API may introspect as their resource server."""
from __future__ import annotations

import pytest

from .conftest import REALM


def _client_credentials_token(http, client_id, secret) -> str:
    response = http.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def _introspect(http, client_id, secret, token) -> dict:
    response = http.post(f"/realms/{REALM}/introspect", data={"token": token}, auth=(client_id, secret))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_clients_are_listed_and_read_without_their_secrets(api, factory, realm):
    client_id, secret = factory.client(realm, name="Shop")

    listed = api.get("/clients")
    shown = api.get(f"/clients/{client_id}")

    assert listed.status_code == 200 and [c["client_id"] for c in listed.get_json()["clients"]] == [client_id]
    assert shown.status_code == 200
    assert shown.get_json()["name"] == "Shop" and shown.get_json()["resource_server_for"] == []
    assert secret not in listed.get_data(as_text=True) + shown.get_data(as_text=True)


def test_an_api_made_resource_server_of_an_app_may_introspect_the_apps_tokens(api, client, factory, realm):
    app_id, app_secret = factory.client(realm, name="Shop", client_credentials=True)
    api_id, api_secret = factory.client(realm, name="Orders API")
    token = _client_credentials_token(client, app_id, app_secret)
    assert _introspect(client, api_id, api_secret, token) == {"active": False}

    changed = api.patch(f"/clients/{api_id}", {"resource_server_for": [app_id]})

    assert changed.status_code == 200 and changed.get_json()["resource_server_for"] == [app_id]
    assert _introspect(client, api_id, api_secret, token)["active"] is True
    assert api.patch(f"/clients/{api_id}", {"resource_server_for": []}).get_json()["resource_server_for"] == []
    assert _introspect(client, api_id, api_secret, token) == {"active": False}


@pytest.mark.parametrize(("change", "message"), [
    ({"resource_server_for": ["nope"]}, "client 'nope' does not exist"),
    ({"resource_server_for": ["{self}"]}, "may always introspect its own tokens"),
    ({"resource_server_for": "shop"}, "Must be a list"),
    ({"colour": "red"}, "Unknown field"),
    ({"grant_types": ["implicit"]}, "unknown grant type implicit"),
])
def test_a_bad_client_change_is_422_and_changes_nothing(api, factory, realm, change, message):
    api_id, _ = factory.client(realm, name="Orders API")
    change = {k: [v.format(self=api_id) for v in value] if isinstance(value, list) else value
              for k, value in change.items()}

    response = api.patch(f"/clients/{api_id}", change)

    assert response.status_code == 422
    assert message in str(response.get_json())
    assert api.get(f"/clients/{api_id}").get_json()["resource_server_for"] == []


def test_a_public_client_cannot_be_made_a_resource_server(api, factory, realm):
    app_id, _ = factory.client(realm, name="Shop")
    spa_id, _ = factory.client(realm, name="SPA", public=True)

    response = api.patch(f"/clients/{spa_id}", {"resource_server_for": [app_id]})

    assert response.status_code == 422 and "public client" in response.get_json()["error_description"]


def test_a_client_of_another_realm_is_not_found(api, factory):
    other_id, _ = factory.client(factory.realm("other"), name="Elsewhere")

    assert api.get(f"/clients/{other_id}").status_code == 404
    assert api.patch(f"/clients/{other_id}", {"resource_server_for": []}).status_code == 404


def test_operator_registers_a_client_gets_its_secret_once_and_it_works(api, client):
    created = api.post("/clients", {"name": "Billing", "redirect_uris": ["https://billing.example/cb"],
                                    "grant_types": ["authorization_code", "refresh_token", "client_credentials"]})

    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["client_secret"] and body["grant_types"] == ["authorization_code", "refresh_token",
                                                             "client_credentials"]
    assert "client_secret" not in api.get(f"/clients/{body['client_id']}").get_json()
    assert _client_credentials_token(client, body["client_id"], body["client_secret"])


def test_a_public_client_has_no_secret_and_cannot_use_client_credentials(api):
    spa = api.post("/clients", {"name": "SPA", "public": True, "redirect_uris": ["https://spa.example/cb"]})
    refused = api.post("/clients", {"name": "SPA 2", "public": True, "redirect_uris": ["https://spa.example/cb"],
                                    "grant_types": ["client_credentials"]})

    assert spa.status_code == 201 and spa.get_json()["client_secret"] is None
    assert spa.get_json()["grant_types"] == ["authorization_code", "refresh_token"]
    assert refused.status_code == 422 and "grant_types" in refused.get_json()["fields"]


def test_operator_changes_redirect_uris_and_grant_types(api, factory, realm):
    client_id, _ = factory.client(realm, name="Shop")

    uris = api.patch(f"/clients/{client_id}", {"redirect_uris": ["https://shop.example/cb"],
                                               "post_logout_redirect_uris": ["https://shop.example/"]})
    grants = api.patch(f"/clients/{client_id}", {"grant_types": ["client_credentials"]})

    assert uris.status_code == 200
    assert uris.get_json()["redirect_uris"] == ["https://shop.example/cb"]
    assert uris.get_json()["post_logout_redirect_uris"] == ["https://shop.example/"]
    assert grants.status_code == 200 and grants.get_json()["grant_types"] == ["client_credentials"]


@pytest.mark.parametrize(("change", "message"), [
    ({"grant_types": ["refresh_token"]}, "refresh_token goes with authorization_code"),
    ({"grant_types": []}, "at least one grant type"),
    ({"redirect_uris": [], "grant_types": ["authorization_code"]}, "needs at least one redirect URI"),
    ({"redirect_uris": ["http://shop.example/cb"]}, "must use https"),
    ({"name": " "}, "client name must be"),
])
def test_a_bad_client_update_is_422_and_leaves_the_client_as_it_was(api, factory, realm, change, message):
    client_id, _ = factory.client(realm, name="Shop", client_credentials=True)
    before = api.get(f"/clients/{client_id}").get_json()

    response = api.patch(f"/clients/{client_id}", change)

    assert response.status_code == 422, response.get_json()
    assert message in response.get_json()["error_description"]
    assert api.get(f"/clients/{client_id}").get_json() == before


def test_rotating_the_secret_retires_the_old_one_at_once(api, client, factory, realm):
    client_id, old_secret = factory.client(realm, name="Shop", client_credentials=True)

    rotated = api.post(f"/clients/{client_id}/secret")

    assert rotated.status_code == 200
    new_secret = rotated.get_json()["client_secret"]
    assert new_secret and new_secret != old_secret
    refused = client.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, old_secret))
    assert refused.status_code == 401
    assert _client_credentials_token(client, client_id, new_secret)
    assert "client.secret_rotated" in {e["type"] for e in api.get("/audit_events").get_json()["audit_events"]}


def test_a_public_clients_secret_cannot_be_rotated(api, factory, realm):
    spa_id, _ = factory.client(realm, name="SPA", public=True)

    response = api.post(f"/clients/{spa_id}/secret")

    assert response.status_code == 409 and response.get_json()["error"] == "conflict"


def test_deleting_a_client_ends_its_tokens(api, client, factory, realm):
    client_id, secret = factory.client(realm, name="Shop", client_credentials=True)
    token = _client_credentials_token(client, client_id, secret)
    api_id, api_secret = factory.client(realm, name="Orders API")
    api.patch(f"/clients/{api_id}", {"resource_server_for": [client_id]})

    assert api.delete(f"/clients/{client_id}").status_code == 204

    assert api.get(f"/clients/{client_id}").status_code == 404
    assert _introspect(client, api_id, api_secret, token) == {"active": False}
    assert api.delete(f"/clients/{client_id}").status_code == 404


def test_a_client_registered_to_require_dpop_is_refused_bearer_tokens(api, client):
    """RFC 9449 §5.2 ``dpop_bound_access_tokens``: set at registration, shown, and changed."""
    created = api.post("/clients", {"name": "Reports", "grant_types": ["client_credentials"],
                                    "dpop_bound_access_tokens": True})
    assert created.status_code == 201 and created.get_json()["dpop_bound_access_tokens"] is True
    client_id, secret = created.get_json()["client_id"], created.get_json()["client_secret"]

    refused = client.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_dpop_proof")

    changed = api.patch(f"/clients/{client_id}", {"dpop_bound_access_tokens": False})
    assert changed.status_code == 200 and changed.get_json()["dpop_bound_access_tokens"] is False
    assert _client_credentials_token(client, client_id, secret)
    assert api.patch(f"/clients/{client_id}", {"dpop_bound_access_tokens": "yes"}).status_code == 422
