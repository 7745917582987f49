"""Login providers in the console: an owner adds one, edits every setting (the MFA mode with its
allowed upstream values, the client secret kept unless replaced), disables and enables it, and
deletes it; the same service functions as ``idp providers``, so the CLI sees the same rows."""
from __future__ import annotations

import json

import pytest


def _provider(in_app, name="corp"):
    from idp.services.realms import get_realm
    from idp.social.providers import describe, find_provider

    with in_app():
        row = find_provider(get_realm("acme"), name)
        if row is None:
            return None
        return {**describe(row), "has_secret": row.client_secret_encrypted is not None,
                "secret": row.client_secret_encrypted}


ADD = {"kind": "oidc", "name": "corp", "display_name": "Corp SSO", "issuer": "https://sso.example.com",
       "client_id": "idp-at-corp", "client_secret": "s3cret", "scope": "", "mfa_mode": "upstream",
       "upstream_mfa_amr": "mfa hwk", "upstream_mfa_acr": "", "trust_email": "", "enabled": "y"}


def test_an_owner_adds_edits_disables_and_deletes_a_provider(console, target_realm, in_app, runner, audit_events):
    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme/providers")
    assert "This realm has no login provider yet" in browser.text()
    assert "/realms/acme/social/callback" in browser.text()
    browser.post("/admin/realms/acme/providers", ADD)
    assert browser.status == 200 and "Provider corp added." in browser.text()
    added = _provider(in_app)
    assert added["display_name"] == "Corp SSO" and added["mfa_mode"] == "upstream"
    assert added["upstream_mfa_amr"] == ["mfa", "hwk"] and added["trust_email"] is False and added["enabled"]
    assert "s3cret" not in browser.page

    browser.post("/admin/realms/acme/providers/corp", {
        "display_name": "Corporate login", "issuer": "https://login.example.com/", "client_id": "idp-2",
        "client_secret": "", "scope": "openid email", "mfa_mode": "require", "upstream_mfa_amr": "",
        "upstream_mfa_acr": "", "trust_email": "y", "enabled": "y"})
    assert "Provider corp saved." in browser.text()
    edited = _provider(in_app)
    assert {k: edited[k] for k in ("display_name", "issuer", "client_id", "scope", "mfa_mode", "upstream_mfa_amr",
                                   "trust_email")} == {
        "display_name": "Corporate login", "issuer": "https://login.example.com", "client_id": "idp-2",
        "scope": "openid email", "mfa_mode": "require", "upstream_mfa_amr": [], "trust_email": True}
    assert edited["secret"] == added["secret"]

    listed = runner("providers", "list", "--realm", "acme", "--json")
    assert json.loads(listed.output)[0]["display_name"] == "Corporate login"

    browser.post("/admin/realms/acme/providers/corp/disable")
    assert "Provider corp is disabled." in browser.text() and _provider(in_app)["enabled"] is False
    browser.post("/admin/realms/acme/providers/corp/enable")
    assert _provider(in_app)["enabled"] is True
    assert [e[0]["name"] for e in audit_events("provider.disabled")] == ["corp"]

    browser.post("/admin/realms/acme/providers/corp/delete", {})
    assert browser.status == 400 and _provider(in_app) is not None
    browser.post("/admin/realms/acme/providers/corp/delete", {"confirm": "y"})
    assert "Provider corp was deleted." in browser.text() and _provider(in_app) is None


@pytest.mark.parametrize("change, message", [
    ({"issuer": "http://sso.example.com"}, "must be an https URL"),
    ({"client_id": ""}, "--client-id"),
    ({"mfa_mode": "upstream", "upstream_mfa_amr": "", "upstream_mfa_acr": ""}, "needs at least one allowed"),
    ({"upstream_mfa_amr": "bad\x7fvalue"}, "not a valid amr/acr value"),
    ({"mfa_mode": "sometimes"}, "Not a valid choice"),
    ({"display_name": ""}, "display name must be"),
])
def test_a_refused_edit_is_a_400_on_its_field_and_changes_nothing(console, target_realm, in_app, change, message):
    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme/providers")
    browser.post("/admin/realms/acme/providers", ADD)
    before = _provider(in_app)
    form = {"display_name": "Corp SSO", "issuer": "https://sso.example.com", "client_id": "idp-at-corp",
            "client_secret": "new-secret", "scope": "openid", "mfa_mode": "upstream", "upstream_mfa_amr": "mfa",
            "upstream_mfa_acr": "", "trust_email": "y", "enabled": "y", **change}
    browser.post("/admin/realms/acme/providers/corp", form)
    assert browser.status == 400 and message in browser.text(), browser.text()
    assert _provider(in_app) == before


@pytest.mark.parametrize("change, message", [
    ({"name": "Bad Name"}, "provider name must be"),
    ({"kind": "myspace"}, "Not a valid choice"),
    ({"issuer": ""}, "must be an https URL"),
])
def test_a_refused_new_provider_is_a_400_and_nothing_is_added(console, target_realm, in_app, change, message):
    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme/providers")
    browser.post("/admin/realms/acme/providers", {**ADD, **change})
    assert browser.status == 400 and message in browser.text(), browser.text()
    assert _provider(in_app) is None and _provider(in_app, "Bad Name") is None


def test_operators_and_viewers_read_providers_but_cannot_change_them(console, target_realm, in_app):
    target_realm()
    console("owner").post("/admin/realms/acme/providers", ADD)
    for role in ("operator", "viewer"):
        browser = console(role)
        browser.get("/admin/realms/acme/providers/corp")
        assert browser.status == 200 and "Corp SSO" in browser.text() and "Save provider" not in browser.text()
        browser.post("/admin/realms/acme/providers/corp/disable")
        assert browser.status == 403
    assert _provider(in_app)["enabled"] is True


def test_an_unknown_provider_is_a_404(console, target_realm):
    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme/providers/nobody")
    assert browser.status == 404
