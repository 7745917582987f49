"""Clients (secret shown once, redirect URIs, rotation, deletion) and management API keys."""
from __future__ import annotations

import re

import pytest

from idp.extensions import db
from idp.models import ApiKey
from idp.services.api_key_scopes import SCOPES

from ..flows import HostedLogin


def _secret(page: str, element_id: str) -> str:
    return re.search(rf'<code id="{element_id}" class="secret">([^<]+)</code>', page).group(1)


def _client_id(page: str) -> str:
    return re.search(r'<code id="client-id">([^<]+)</code>', page).group(1)


def test_new_client_shows_its_secret_once_and_the_secret_works(console, target_realm, app):
    target_realm()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients", {"name": "Billing", "redirect_uris": "http://127.0.0.1:9999/callback"})
    assert browser.status == 200 and "Copy the secret now: it is shown only this once." in browser.text()
    assert browser.response.headers["Cache-Control"] == "no-store"
    client_id, secret = _client_id(browser.page), _secret(browser.page, "client-secret")

    browser.get(f"/admin/realms/acme/clients/{client_id}")
    assert secret not in browser.page

    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.authorize()
    login.log_in()
    assert "id_token" in login.exchange_code()


def test_public_client_has_no_secret(console, target_realm):
    target_realm()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients",
                 {"name": "SPA", "redirect_uris": "https://spa.example/cb", "public": "y"})
    assert "Client SPA created. It is public: it has no secret." in browser.text()
    assert "Rotate secret" not in browser.text()


def test_bad_redirect_uri_is_shown_on_its_field_and_nothing_is_created(console, target_realm, in_app):
    target_realm()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients", {"name": "Bad", "redirect_uris": "http://evil.example/cb"})
    assert browser.status == 400
    assert re.search(r'id="redirect_uris-error" role="alert">.*must use https', browser.page, re.S)
    assert "Bad" not in re.sub(r"<form.*</form>", "", browser.page, flags=re.S), "no client named Bad is listed"


def test_redirect_uris_can_be_edited_and_bad_ones_are_refused(console, target_realm, in_app):
    acme = target_realm()
    browser = console("operator")
    url = f"/admin/realms/acme/clients/{acme.client_id}"
    browser.post(f"{url}/redirect-uris", {"redirect_uris": "https://app.example/one\nhttps://app.example/two"})
    assert "Redirect URIs saved." in browser.text()
    assert "https://app.example/one\nhttps://app.example/two" in browser.page

    browser.post(f"{url}/redirect-uris", {"redirect_uris": "https://app.example/one#frag"})
    assert browser.status == 400 and "must not contain a fragment" in browser.text()
    browser.get(url)
    assert "https://app.example/two" in browser.page, "refused edits leave the URIs as they were"


def test_a_public_client_keeps_at_least_one_redirect_uri(console, target_realm):
    target_realm()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients", {"name": "SPA", "redirect_uris": "https://spa.example/cb", "public": "y"})
    url = browser.url
    browser.post(f"{url}/redirect-uris", {"redirect_uris": ""})
    assert browser.status == 400 and "Give at least one redirect URI" in browser.text()


def test_rotating_the_secret_shows_the_new_one_once_and_the_old_one_stops(console, target_realm, app):
    acme = target_realm()
    browser = console("operator")
    browser.post(f"/admin/realms/acme/clients/{acme.client_id}/rotate-secret")
    new_secret = _secret(browser.page, "client-secret")
    assert new_secret != acme.client_secret

    old = app.test_client().post("/realms/acme/token", data={"grant_type": "client_credentials"},
                                 auth=(acme.client_id, acme.client_secret))
    new = app.test_client().post("/realms/acme/token", data={"grant_type": "client_credentials"},
                                 auth=(acme.client_id, new_secret))
    assert (old.status_code, new.status_code) == (401, 200)


def test_deleting_a_client_needs_the_confirmation(console, target_realm, audit_events):
    acme = target_realm()
    browser = console("operator")
    browser.post(f"/admin/realms/acme/clients/{acme.client_id}/delete", {})
    assert browser.status == 400 and "Tick the box to confirm the deletion." in browser.text()
    browser.post(f"/admin/realms/acme/clients/{acme.client_id}/delete", {"confirm": "y"})
    assert "Client Test App was deleted." in browser.text()
    assert audit_events("client.deleted")[0][0]["by_admin"] == "operator@example.com"


def test_operator_lets_an_api_introspect_an_apps_tokens_and_no_other_client_can(console, target_realm, app,
                                                                                audit_events):
    acme = target_realm()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients", {"name": "Orders API", "redirect_uris": "https://api.example/cb"})
    api_id, api_secret = _client_id(browser.page), _secret(browser.page, "client-secret")
    http = app.test_client()
    token = http.post("/realms/acme/token", data={"grant_type": "client_credentials"},
                      auth=(acme.client_id, acme.client_secret)).get_json()["access_token"]

    def introspected_by_api():
        return http.post("/realms/acme/introspect", data={"token": token}, auth=(api_id, api_secret)).get_json()

    assert introspected_by_api() == {"active": False}
    browser.post(f"/admin/realms/acme/clients/{api_id}/resource-servers", {"resource_server_for": acme.client_id})
    assert "Introspection rights saved." in browser.text()
    assert introspected_by_api()["active"] is True
    assert audit_events("client.updated")[-1][0]["resource_server_for"] == [acme.client_id]
    browser.get(f"/admin/realms/acme/clients/{acme.client_id}")
    assert f"<code>{api_id}</code>" in browser.page, "the app's page names its resource servers"

    browser.post(f"/admin/realms/acme/clients/{api_id}/resource-servers", {"resource_server_for": "no-such-app"})
    assert browser.status == 400
    assert re.search(r'id="resource_server_for-error" role="alert">.*client &#39;no-such-app&#39; does not exist',
                     browser.page, re.S)
    assert introspected_by_api()["active"] is True, "a refused change leaves the rights as they were"


def test_api_key_is_shown_once_works_on_the_api_and_stops_when_revoked(console, target_realm, app):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme/api-keys", {"name": "deploy", "scopes": ["realms:read"]})
    assert "Copy the key now: it is shown only this once." in browser.text()
    secret = _secret(browser.page, "api-key-secret")
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/realms/acme/settings", headers=headers).status_code == 200

    browser.get("/admin/realms/acme/api-keys")
    assert secret not in browser.page
    key_id = re.search(r"/api-keys/(\d+)/revoke", browser.page).group(1)
    browser.post(f"/admin/realms/acme/api-keys/{key_id}/revoke")
    assert "API key deploy revoked." in browser.text()
    assert api.get("/api/v1/realms/acme/settings", headers=headers).status_code == 401


def test_api_key_names_are_checked(console, target_realm):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme/api-keys", {"name": ""})
    assert browser.status == 400 and "Give the key a name." in browser.text()
    browser.post("/admin/realms/acme/api-keys", {"name": "ci", "scopes": ["users:read"]})
    browser.post("/admin/realms/acme/api-keys", {"name": "ci", "scopes": ["users:read"]})
    assert browser.status == 400 and "an active API key named 'ci' already exists" in browser.text()


def test_an_api_key_made_in_the_console_can_do_only_what_its_scopes_say_until_it_expires(console, target_realm, app):
    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme/api-keys")
    assert browser.page.count('type="checkbox" name="scopes"') == len(SCOPES), "every scope is offered"
    assert browser.page.count('name="scopes" id="scope-1" value="users:read" checked') == 1, \
        "a new key starts with every scope, as on the command line; the operator unticks"

    browser.post("/admin/realms/acme/api-keys", {"name": "reporting", "scopes": ["users:read"], "expires": "30d"})
    secret = _secret(browser.page, "api-key-secret")
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/realms/acme/users", headers=headers).status_code == 200
    refused = api.get("/api/v1/realms/acme/settings", headers=headers)
    assert refused.status_code == 403 and refused.json["error"] == "insufficient_scope"

    browser.get("/admin/realms/acme/api-keys")
    row = re.search(r"<th scope=\"row\">reporting</th>(.*?)</tr>", browser.page, re.S).group(1)
    assert "<code>users:read</code>" in row and "realms:read" not in row
    assert "Never" not in row.split("</td>")[3], "the expiry is shown"


@pytest.mark.parametrize(("form", "message"), [
    ({"name": "k", "expires": "30d"}, "Give the key at least one scope."),
    ({"name": "k", "scopes": ["users:read"], "expires": "soon"}, "is not an expiry"),
    ({"name": "k", "scopes": ["users:read"], "expires": "2001-01-01"}, "the expiry must be in the future"),
    ({"name": "k", "scopes": ["users:read"], "expires": "9000d"}, "a key may expire at most"),
    ({"name": "k", "scopes": ["no:such"]}, "'no:such' is not a valid choice"),
])
def test_a_key_with_no_scope_an_unknown_scope_or_a_bad_expiry_is_refused_and_nothing_is_made(
        console, target_realm, app, form, message):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme/api-keys", form)
    assert browser.status == 400 and message in browser.text()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiKey)) == 0


def test_operator_gives_a_client_the_client_credentials_grant_and_takes_it_away(console, target_realm, app,
                                                                              audit_events):
    target_realm()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients", {"name": "Reports", "redirect_uris": "https://reports.example/cb"})
    client_id, secret = _client_id(browser.page), _secret(browser.page, "client-secret")
    http = app.test_client()

    def client_credentials():
        return http.post("/realms/acme/token", data={"grant_type": "client_credentials"},
                         auth=(client_id, secret)).status_code

    assert client_credentials() == 400, "a new client gets client_credentials only when asked"
    url = f"/admin/realms/acme/clients/{client_id}"
    browser.get(url)
    assert 'value="client_credentials"' in browser.page
    browser.post(f"{url}/grant-types", {"grant_types": ["authorization_code", "refresh_token",
                                                         "client_credentials"]})
    assert "Grant types saved." in browser.text() and client_credentials() == 200
    assert audit_events("client.updated")[-1][0]["grant_types"] == ["authorization_code", "refresh_token",
                                                                     "client_credentials"]

    browser.post(f"{url}/grant-types", {"grant_types": ["refresh_token", "client_credentials", "password"]})
    assert browser.status == 400 and "unknown grant type password" in browser.text()
    browser.post(f"{url}/grant-types", {"grant_types": ["authorization_code"]})
    assert "Grant types saved." in browser.text() and client_credentials() == 400


def test_operator_makes_a_client_require_dpop_and_it_gets_no_more_bearer_tokens(console, target_realm, app,
                                                                              audit_events):
    target_realm()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients", {"name": "Reports", "redirect_uris": "https://reports.example/cb"})
    client_id = _client_id(browser.page)
    url = f"/admin/realms/acme/clients/{client_id}"
    browser.get(url)
    assert "Sender-constrained tokens (DPoP)" in browser.page and "Optional" in browser.text()

    browser.post(f"{url}/dpop", {"dpop_required": "y"})

    assert "DPoP setting saved." in browser.text()
    assert "Required: tokens bound to the client" in browser.text()
    assert audit_events("client.updated")[-1][0]["dpop_bound_access_tokens"] is True
    browser.post(f"{url}/dpop", {})
    assert "DPoP setting saved." in browser.text() and "Optional" in browser.text()


def test_operator_creates_an_initial_access_token_an_app_registers_with_it_and_shows_as_self_registered(
        console, target_realm, app):
    acme = target_realm()
    with app.app_context():
        from idp.services.realms import get_realm, update_realm

        update_realm(get_realm("acme"), dynamic_client_registration=True)
        db.session.commit()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients/initial-access-tokens",
                 {"note": "Partner portal", "expires_in_hours": "2", "max_uses": "1"})
    assert browser.status == 200 and "Copy the token now: it is shown only this once." in browser.text()
    token = _secret(browser.page, "initial-access-token")

    registered = app.test_client().post("/realms/acme/register", json={
        "client_name": "Partner app", "redirect_uris": ["https://partner.example/cb"]},
        headers={"Authorization": f"Bearer {token}"})
    assert registered.status_code == 201
    browser.get("/admin/realms/acme/clients")
    assert "self-registered" in browser.text() and "Partner portal" in browser.text() and "1 of 1" in browser.text()
    browser.get(f"/admin/realms/acme/clients/{registered.get_json()['client_id']}")
    assert "The app itself (dynamic client registration)" in browser.text()

    browser.post("/admin/realms/acme/clients/initial-access-tokens", {"expires_in_hours": "0"})
    assert browser.status == 400
    assert acme is not None
