"""/api/v1/realms/R/providers: upstream identity providers managed through the API as with
'idp providers add/set/enable/disable/remove'; the client secret is never shown."""
from __future__ import annotations

import pytest

GOOGLE = {"kind": "google", "name": "google", "client_id": "google-client", "client_secret": "google-secret"}


def test_operator_adds_a_provider_and_its_secret_is_never_shown(api, runner):
    added = api.post("/providers", GOOGLE)

    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert (body["issuer"], body["display_name"], body["mfa_mode"], body["trust_email"], body["enabled"]) == \
        ("https://accounts.google.com", "Google", "skip", True, True)
    assert body["has_client_secret"] is True and "google-secret" not in str(body)
    assert "google-secret" not in str(api.get("/providers").get_json())
    assert "google" in runner("providers", "list", "--realm", "acme").stdout


def test_operator_changes_the_mfa_mode_and_every_other_option(api):
    api.post("/providers", {"kind": "oidc", "name": "corp", "issuer": "https://sso.corp.example",
                            "client_id": "idp", "client_secret": "s1"})

    changed = api.patch("/providers/corp", {
        "mfa_mode": "upstream", "upstream_mfa_acr": ["urn:corp:mfa"], "display_name": "Corp SSO",
        "issuer": "https://login.corp.example", "client_id": "idp-2", "client_secret": "s2",
        "scope": "openid email", "trust_email": True})

    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["mfa_mode"], body["upstream_mfa_acr"], body["display_name"], body["issuer"], body["client_id"],
            body["scope"], body["trust_email"]) == ("upstream", ["urn:corp:mfa"], "Corp SSO",
                                                    "https://login.corp.example", "idp-2", "openid email", True)


def test_a_provider_is_disabled_enabled_and_removed(api, client):
    api.post("/providers", GOOGLE)

    assert api.patch("/providers/google", {"enabled": False}).get_json()["enabled"] is False
    assert api.patch("/providers/google", {"enabled": True}).get_json()["enabled"] is True
    assert api.delete("/providers/google").status_code == 204
    assert api.get("/providers/google").status_code == 404
    events = {e["type"] for e in api.get("/audit_events").get_json()["audit_events"]}
    assert {"provider.added", "provider.disabled", "provider.enabled", "provider.removed"} <= events


@pytest.mark.parametrize(("change", "field"), [
    ({"mfa_mode": "sometimes"}, "mfa_mode"),
    ({"mfa_mode": "upstream", "upstream_mfa_amr": [], "upstream_mfa_acr": []}, "upstream_mfa_amr"),
    ({"issuer": "http://sso.example.com"}, "issuer"),
    ({"upstream_mfa_amr": ["has space"]}, "upstream_mfa_amr"),
    ({"display_name": ""}, "display_name"),
    ({"kind": "github"}, "kind"),
])
def test_a_bad_provider_change_is_422_and_changes_nothing(api, change, field):
    api.post("/providers", GOOGLE)
    before = api.get("/providers/google").get_json()

    response = api.patch("/providers/google", change)

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["fields"]
    assert api.get("/providers/google").get_json() == before


def test_a_provider_name_is_unique_in_the_realm(api):
    api.post("/providers", GOOGLE)

    again = api.post("/providers", GOOGLE)

    assert again.status_code == 422 and "already exists" in again.get_json()["fields"]["name"]
