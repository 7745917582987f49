"""/api/v1/realms: an operator of many realms lists and creates realms with a server-level key;
a realm key sees only its own realm; every realm setting reads and changes as on the CLI."""
from __future__ import annotations

import pytest

from idp.services.realm_settings import REALM_SETTINGS

from .conftest import REALM, ApiClient, make_api_key


@pytest.fixture
def operator(client, realm):
    """A server-level key, as 'idp api-keys create --server' makes it."""
    return ApiClient(client, make_api_key(None, "operator"))


def test_operator_creates_a_realm_with_settings_and_works_in_it_with_the_same_key(operator, client):
    created = operator.http.post("/api/v1/realms", json={"name": "north", "display_name": "North Wind",
                                                         "registration_enabled": False, "totp_enabled": True},
                                 headers={"Authorization": f"Bearer {operator.key}"})

    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["name"], body["display_name"], body["registration_enabled"], body["totp_enabled"]) == \
        ("north", "North Wind", False, True)
    assert operator.get("/users", realm="north").status_code == 200
    assert operator.get("", realm="north").get_json()["display_name"] == "North Wind"
    listed = operator.http.get("/api/v1/realms", headers={"Authorization": f"Bearer {operator.key}"}).get_json()
    assert {r["name"] for r in listed["realms"]} == {"default", REALM, "north"}


def test_a_realm_key_sees_only_its_realm_and_cannot_create_realms(api):
    listed = api.http.get("/api/v1/realms", headers={"Authorization": f"Bearer {api.key}"})
    refused = api.http.post("/api/v1/realms", json={"name": "mine"}, headers={"Authorization": f"Bearer {api.key}"})

    assert [r["name"] for r in listed.get_json()["realms"]] == [REALM]
    assert refused.status_code == 403 and "server-level" in refused.get_json()["error_description"]


def test_a_server_level_key_does_not_reach_the_consoles_own_realm(operator):
    assert operator.get("/users", realm="admin").status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "Not Valid"}, "name"),
    ({"name": REALM}, "name"),
    ({"name": "fresh", "password_min_length": 3}, "password_min_length"),
    ({"name": "fresh", "theme": "no-such-theme"}, "theme"),
    ({"name": "fresh", "sms_enabled": True}, "sms_enabled"),
    ({"name": "fresh", "colour": "red"}, "colour"),
])
def test_a_bad_new_realm_is_422_and_nothing_is_created(operator, body, field):
    response = operator.http.post("/api/v1/realms", json=body, headers={"Authorization": f"Bearer {operator.key}"})

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["fields"]
    assert operator.get("", realm="fresh").status_code == 404


def test_every_realm_setting_is_read_and_documented_from_the_one_list(api, client):
    shown = api.get("/settings").get_json()
    document = client.get("/api/v1/openapi.json").get_json()
    update = document["components"]["schemas"]["RealmSettingsUpdate"]["properties"]

    for setting in REALM_SETTINGS:
        assert setting.name in shown, setting.name
        assert setting.name in update, setting.name
    assert update["remember_device_days"]["maximum"] == 365
    assert update["password_min_length"]["minimum"] == 8


def test_token_lifetimes_change_through_the_api_and_show_on_the_cli(api, runner):
    changed = api.patch("/settings", {"access_token_lifetime": 600, "refresh_token_lifetime": 86400})

    assert changed.status_code == 200
    shown = runner("realms", "show", REALM)
    assert "access_token_lifetime: 600" in shown.stdout
    assert "id_token_lifetime: " in shown.stdout and "(server default)" in shown.stdout
