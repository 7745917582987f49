"""The realm's password policy through the management API: read and changed with the realm
settings (the same rules as the console and ``idp realms set``), and applied to the passwords the
API sets."""
from __future__ import annotations

import pytest


def test_password_policy_and_life_cycle_settings_are_read_and_changed(api, realm):
    settings = api.get("/settings").get_json()
    assert (settings["password_min_length"], settings["password_block_common"], settings["password_block_email"]) \
        == (8, True, True)
    assert (settings["require_email_verification"], settings["remember_device_days"]) == (False, 0)

    response = api.patch("/settings", {"password_min_length": 14, "password_block_common": False,
                                       "require_email_verification": True, "remember_device_days": 30})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["password_min_length"], body["password_block_common"], body["password_block_email"]) \
        == (14, False, True)
    assert (body["require_email_verification"], body["remember_device_days"]) == (True, 30)


@pytest.mark.parametrize("payload, field", [
    ({"password_min_length": 7}, "password_min_length"),
    ({"password_min_length": 129}, "password_min_length"),
    ({"password_min_length": "12"}, "password_min_length"),
    ({"password_min_length": True}, "password_min_length"),
    ({"password_block_common": "off"}, "password_block_common"),
    ({"password_block_email": 0}, "password_block_email"),
    ({"remember_device_days": -1}, "remember_device_days"),
    ({"remember_device_days": 366}, "remember_device_days"),
])
def test_bad_policy_values_are_422_naming_the_field_and_nothing_changes(api, realm, payload, field):
    response = api.patch("/settings", {"display_name": "Renamed", **payload})
    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    settings = api.get("/settings").get_json()
    assert (settings["display_name"], settings["password_min_length"], settings["remember_device_days"]) \
        == ("Acme", 8, 0)


def test_users_created_and_passwords_set_through_the_api_follow_the_realms_minimum(api, realm):
    assert api.patch("/settings", {"password_min_length": 12}).status_code == 200

    short = api.post("/users", {"email": "robert@example.com", "password": "11 letters!"})
    assert short.status_code == 422
    assert short.get_json()["fields"]["password"] == "Password must be at least 12 characters."

    created = api.post("/users", {"email": "robert@example.com", "password": "twelve chars"})
    assert created.status_code == 201, created.get_json()
    user_id = created.get_json()["id"]
    for password, message in [("password2025", "This password is too common. Choose one that is harder to guess."),
                              ("Robert's new password", "Password must not contain the first part of your email "
                                                        "address.")]:
        refused = api.put(f"/users/{user_id}/password", {"password": password})
        assert refused.status_code == 422
        assert refused.get_json()["fields"]["password"] == message
    assert api.put(f"/users/{user_id}/password", {"password": "a fresh passphrase"}).status_code == 204


def test_the_openapi_document_describes_the_policy_settings(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    update = schemas["RealmSettingsUpdate"]["properties"]
    assert update["password_min_length"]["minimum"] == 8 and update["password_min_length"]["maximum"] == 128
    assert update["password_block_common"]["type"] == ["boolean", "null"]
    assert update["remember_device_days"]["maximum"] == 365
    assert {"password_min_length", "password_block_common", "password_block_email", "require_email_verification",
            "remember_device_days"} <= set(schemas["RealmSettings"]["properties"])
