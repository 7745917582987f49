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
    ({"name": "renamed"}, "Unknown field"),
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
