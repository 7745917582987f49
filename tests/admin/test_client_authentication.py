"""The console's "Client authentication" panel: an operator switches an app to private_key_jwt
with its public keys (its secret stops working), or to client_secret_jwt (a new secret, shown
once); keys that cannot work are refused on the form and nothing changes."""
from __future__ import annotations

import json
import re

from ..oidc.jwt_clients import assertion_form, client_assertion, new_key, public_jwks


def _secret(page: str) -> str:
    return re.search(r'<code id="client-secret" class="secret">([^<]+)</code>', page).group(1)


def _client_id(page: str) -> str:
    return re.search(r'<code id="client-id">([^<]+)</code>', page).group(1)


def test_operator_moves_a_client_from_its_secret_to_its_key(console, target_realm, app):
    target_realm()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients", {"name": "Reports", "redirect_uris": "https://reports.example/cb"})
    client_id, secret = _client_id(browser.page), _secret(browser.page)
    url = f"/admin/realms/acme/clients/{client_id}"
    key = new_key("RS256")
    http = app.test_client()

    browser.get(url)
    assert "Client authentication" in browser.text()
    browser.post(f"{url}/authentication", {"token_endpoint_auth_method": "private_key_jwt",
                                          "jwks": json.dumps(public_jwks(key)), "jwks_uri": ""})
    assert "Authentication saved." in browser.text()
    assert "Rotate secret" not in browser.text(), "a private_key_jwt client has no secret to rotate"

    with_secret = http.post("/realms/acme/introspect", data={"token": "x"}, auth=(client_id, secret))
    with_key = http.post("/realms/acme/introspect", data=assertion_form(
        client_id, client_assertion(client_id, key, "RS256", aud="http://localhost/realms/acme"), token="x"))
    assert with_secret.status_code == 401 and with_key.status_code == 200

    browser.post(f"{url}/authentication", {"token_endpoint_auth_method": "client_secret_jwt", "jwks": "",
                                          "jwks_uri": ""})
    assert "shown only this once" in browser.text() and _secret(browser.page) != secret


def test_keys_that_cannot_work_are_refused_on_the_form(console, target_realm):
    target_realm()
    browser = console("operator")
    browser.post("/admin/realms/acme/clients", {"name": "Reports", "redirect_uris": "https://reports.example/cb"})
    url = f"/admin/realms/acme/clients/{_client_id(browser.page)}"

    browser.post(f"{url}/authentication", {"token_endpoint_auth_method": "private_key_jwt", "jwks": "",
                                          "jwks_uri": ""})
    assert browser.status == 400 and "needs its public keys" in browser.text()
    browser.post(f"{url}/authentication", {"token_endpoint_auth_method": "client_secret_basic",
                                          "jwks": json.dumps({"keys": [new_key("ES256").as_dict(private=True)]}),
                                          "jwks_uri": ""})
    assert browser.status == 400 and "private key" in browser.text()
    browser.get(url)
    assert "<code>client_secret_basic</code>" in browser.page
