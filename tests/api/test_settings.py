"""Realm MFA settings and SMS integrations through the API, with the CLI's rule (SMS MFA needs
an active SMS integration); audit events filtered by user, type and time."""
from __future__ import annotations

import datetime as dt

import pytest


def test_settings_are_read_and_changed(api, realm):
    settings = api.get("/settings").get_json()
    assert settings["name"] == "acme" and settings["mfa_enabled"] is False and settings["mfa_login_form"] is True
    response = api.patch("/settings", {"mfa_enabled": True, "totp_enabled": True, "display_name": "Acme Inc",
                                       "sms_allowed_countries": ["us", "GB"], "access_token_lifetime": 300})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["mfa_enabled"] and body["totp_enabled"] and body["display_name"] == "Acme Inc"
    assert body["sms_allowed_countries"] == ["GB", "US"] and body["access_token_lifetime"] == 300


def test_sms_mfa_without_an_active_integration_is_refused_with_nothing_changed(api, realm):
    response = api.patch("/settings", {"mfa_enabled": True, "sms_enabled": True})
    assert response.status_code == 422
    assert "SMS integration" in response.get_json()["fields"]["sms_enabled"]
    assert api.get("/settings").get_json()["mfa_enabled"] is False


@pytest.mark.parametrize("payload, field", [
    ({"mfa_enabled": "on"}, "mfa_enabled"),
    ({"access_token_lifetime": 5}, "access_token_lifetime"),
    ({"access_token_lifetime": True}, "access_token_lifetime"),
    ({"sms_allowed_countries": "US"}, "sms_allowed_countries"),
    ({"sms_allowed_countries": ["USA"]}, "sms_allowed_countries"),
    ({"sms_allowed_countries": ["ZZ"]}, "sms_allowed_countries"),
    ({"sms_allowed_countries": ["US", "XX"]}, "sms_allowed_countries"),
    ({"theme": "no-such-theme"}, "theme"),
    ({"display_name": ""}, "display_name"),
    ({"name": "renamed"}, "name"),
])
def test_bad_settings_are_422_naming_the_field(api, realm, payload, field):
    response = api.patch("/settings", payload)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_sms_countries_that_are_no_country_are_refused_instead_of_silently_blocking_every_text(api, realm):
    api.patch("/settings", {"sms_allowed_countries": ["US"]})

    response = api.patch("/settings", {"sms_allowed_countries": ["US", "ZZ"]})

    assert response.status_code == 422
    assert "ZZ: not a country with phone numbers" in response.get_json()["fields"]["sms_allowed_countries"]
    assert api.get("/settings").get_json()["sms_allowed_countries"] == ["US"]


def test_sms_integrations_are_added_listed_and_switched(api, realm):
    added = api.post("/sms_integrations", {"kind": "outbox", "name": "dev outbox", "active": True})
    assert added.status_code == 201
    row = added.get_json()
    assert row["name"] == "dev outbox" and row["active"] is True
    assert api.get("/sms_integrations").get_json()["sms_integrations"] == [row]
    assert api.patch("/settings", {"mfa_enabled": True, "sms_enabled": True}).status_code == 200

    last = api.patch(f"/sms_integrations/{row['id']}", {"active": False})
    assert last.status_code == 409
    assert "last active SMS integration" in last.get_json()["error_description"]
    assert api.delete(f"/sms_integrations/{row['id']}").status_code == 409

    assert api.patch("/settings", {"sms_enabled": False}).status_code == 200
    assert api.patch(f"/sms_integrations/{row['id']}", {"active": False}).get_json()["active"] is False
    assert api.delete(f"/sms_integrations/{row['id']}").status_code == 204
    assert api.get(f"/sms_integrations/{row['id']}").status_code == 404


def test_twilio_integration_keeps_its_auth_token_secret(api, realm):
    response = api.post("/sms_integrations", {
        "kind": "twilio", "name": "twilio", "account_sid": "AC" + "a" * 32, "auth_token": "s3cret-token",
        "from_number": "+14155550100"})
    assert response.status_code == 201, response.get_json()
    assert "s3cret-token" not in response.get_data(as_text=True)
    assert response.get_json()["account_sid"] == "AC" + "a" * 32


@pytest.mark.parametrize("payload, field", [
    ({"name": "x"}, "kind"),
    ({"kind": "carrier-pigeon", "name": "x"}, "kind"),
    ({"kind": "outbox"}, "name"),
    ({"kind": "twilio", "name": "t"}, "account_sid"),
    ({"kind": "twilio", "name": "t", "account_sid": "AC" + "a" * 32}, "auth_token"),
    ({"kind": "outbox", "name": "o", "active": "yes"}, "active"),
])
def test_bad_integration_input_is_422_naming_the_field(api, realm, payload, field):
    response = api.post("/sms_integrations", payload)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_integrations_of_another_realm_are_not_found(api, factory, realm):
    other = factory.sms_integration(factory.realm("other"), name="theirs")
    assert api.get(f"/sms_integrations/{other.id}").status_code == 404
    assert api.get("/sms_integrations/99999999999").status_code == 404


def test_audit_events_are_filtered_by_user_type_and_time(api, client, user, login_client):
    client.post("/api/v1/realms/acme/sessions/authenticate",
                json={"email": user.email, "password": "wrong password", "client_id": login_client[0]})
    everything = api.get("/audit_events").get_json()["audit_events"]
    assert {"user.created", "login.failed"} <= {e["type"] for e in everything}
    created = api.get("/audit_events", query_string={"user_id": user.id, "type": "user.created"}).get_json()
    assert [e["type"] for e in created["audit_events"]] == ["user.created"]
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()
    assert api.get("/audit_events", query_string={"since": future}).get_json()["audit_events"] == []
    assert api.get("/audit_events", query_string={"until": "2000-01-01T00:00:00Z"}).get_json()["audit_events"] == []
    bad = api.get("/audit_events", query_string={"since": "yesterday"})
    assert bad.status_code == 422 and "since" in bad.get_json()["fields"]
    page = api.get("/audit_events", query_string={"limit": 1}).get_json()
    assert len(page["audit_events"]) == 1 and page["next_offset"] == 1
