"""Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592): an app
registers itself with an initial access token from the operator, logs users in, and manages
its own registration; what it may ask for is narrower than what an operator may grant."""
from __future__ import annotations

import datetime as dt

import pytest

from .conftest import REALM

WEB_APP = {"client_name": "Shop", "redirect_uris": ["https://shop.example/callback"]}


@pytest.fixture
def open_realm(factory, realm):
    factory.realm(REALM, dynamic_client_registration=True)
    return realm


@pytest.fixture
def initial_token(ctx, open_realm):
    from idp.extensions import db
    from idp.services.client_registration import create_initial_access_token

    _row, token = create_initial_access_token(open_realm, expires_in=3600, max_uses=5)
    db.session.commit()
    return token


def register(client, metadata, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/realms/{REALM}/register", json=metadata, headers=headers)


def test_an_app_registers_with_an_initial_access_token_and_logs_a_user_in(client, initial_token):
    response = register(client, {**WEB_APP, "redirect_uris": ["http://127.0.0.1:9999/callback"],
                                 "application_type": "native", "token_endpoint_auth_method": "client_secret_post"},
                        initial_token)

    body = response.get_json()
    assert response.status_code == 201, body
    assert body["client_secret"] and body["registration_access_token"].startswith("rat_")
    assert body["registration_client_uri"].endswith(f"/realms/{REALM}/register/{body['client_id']}")
    assert body["grant_types"] == ["authorization_code"] and body["response_types"] == ["code"]
    assert response.headers["Cache-Control"] == "no-store"
    discovery = client.get(f"/realms/{REALM}/.well-known/openid-configuration").get_json()
    assert discovery["registration_endpoint"].endswith(f"/realms/{REALM}/register")
    client.get(f"/realms/{REALM}/authorize")  # nothing kept from before
    params = _log_in_through_consent(client, body["client_id"])
    tokens = client.post(f"/realms/{REALM}/token", data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": "http://127.0.0.1:9999/callback",
        "code_verifier": params["verifier"], "client_id": body["client_id"], "client_secret": body["client_secret"]})
    assert tokens.status_code == 200, tokens.get_json()


def _log_in_through_consent(client, client_id):
    """A self-registered app is a third party: the user confirms on the consent page."""
    from ..helpers import PASSWORD, csrf_token, form_action, query_params
    from .conftest import EMAIL, authorize_params, pkce_pair

    verifier, challenge = pkce_pair()
    response = client.get(f"/realms/{REALM}/authorize", query_string=authorize_params(client_id, challenge))
    page = client.get(response.location).get_data(as_text=True)
    response = client.post(response.location, data={"csrf_token": csrf_token(page), "email": EMAIL,
                                                     "password": PASSWORD})
    assert "/consent" in response.location, response.location
    consent_url = response.location
    page = client.get(consent_url).get_data(as_text=True)
    response = client.post(form_action(page) or consent_url, data={"csrf_token": csrf_token(page), "decision": "allow"})
    assert response.location.startswith("http://127.0.0.1:9999/callback"), response.location
    return {**query_params(response.location), "verifier": verifier}


def test_the_app_reads_updates_and_deletes_its_registration_with_its_token(client, initial_token):
    body = register(client, WEB_APP, initial_token).get_json()
    uri = f"/realms/{REALM}/register/{body['client_id']}"
    auth = {"Authorization": f"Bearer {body['registration_access_token']}"}

    read = client.get(uri, headers=auth)
    updated = client.put(uri, headers=auth, json={**WEB_APP, "client_id": body["client_id"], "client_name": "Shop 2",
                                                  "redirect_uris": ["https://shop.example/cb2"]})
    deleted = client.delete(uri, headers=auth)

    assert read.status_code == 200 and read.get_json()["client_name"] == "Shop" and "client_secret" not in read.get_json()
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["client_name"] == "Shop 2"
    assert updated.get_json()["redirect_uris"] == ["https://shop.example/cb2"]
    assert deleted.status_code == 204
    assert client.get(uri, headers=auth).status_code == 401


def test_a_wrong_registration_access_token_reads_nothing(client, initial_token):
    first = register(client, WEB_APP, initial_token).get_json()
    second = register(client, WEB_APP, initial_token).get_json()
    uri = f"/realms/{REALM}/register/{first['client_id']}"

    for token in ("rat_wrong", second["registration_access_token"], initial_token):
        response = client.get(uri, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and response.get_json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert client.delete(uri).status_code == 401
    assert client.get(uri, headers={"Authorization": f"Bearer {first['registration_access_token']}"}).status_code == 200


@pytest.mark.parametrize("metadata, error", [
    ({**WEB_APP, "grant_types": ["authorization_code", "client_credentials"]}, "invalid_client_metadata"),
    ({**WEB_APP, "grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"]}, "invalid_client_metadata"),
    ({**WEB_APP, "redirect_uris": ["http://shop.example/callback"]}, "invalid_redirect_uri"),
    ({**WEB_APP, "redirect_uris": ["http://127.0.0.1:8080/callback"]}, "invalid_redirect_uri"),
    ({**WEB_APP, "redirect_uris": ["https://*.shop.example/callback"]}, "invalid_redirect_uri"),
    ({**WEB_APP, "redirect_uris": ["https://shop.example/cb#x"]}, "invalid_redirect_uri"),
    ({**WEB_APP, "redirect_uris": ["myapp:/cb"], "application_type": "native"}, "invalid_redirect_uri"),
    ({"client_name": "No URIs"}, "invalid_redirect_uri"),
    ({**WEB_APP, "redirect_uris": "https://shop.example/callback"}, "invalid_client_metadata"),
    ({**WEB_APP, "token_endpoint_auth_method": "tls_client_auth"}, "invalid_client_metadata"),
    ({**WEB_APP, "response_types": ["token"]}, "invalid_client_metadata"),
    ({**WEB_APP, "scope": "openid admin"}, "invalid_client_metadata"),
    ({**WEB_APP, "application_type": "desktop"}, "invalid_client_metadata"),
    ({**WEB_APP, "id_token_signed_response_alg": "none"}, "invalid_client_metadata"),
    ({**WEB_APP, "client_name": "x" * 300}, "invalid_client_metadata"),
    (["not", "an", "object"], "invalid_request"),
])
def test_a_self_registered_client_cannot_ask_for_what_only_an_operator_grants(client, initial_token, metadata, error):
    from idp.models import Client

    response = register(client, metadata, initial_token)

    assert response.status_code == 400 and response.get_json()["error"] == error, response.get_json()
    with client.application.app_context():
        from idp.extensions import db

        assert db.session.scalar(db.select(db.func.count(Client.id)).filter_by(self_registered=True)) == 0


def test_native_apps_may_use_loopback_and_their_own_scheme_as_public_clients(client, initial_token):
    response = register(client, {"client_name": "CLI", "application_type": "native", "token_endpoint_auth_method": "none",
                                 "redirect_uris": ["http://127.0.0.1/callback", "com.example.cli:/cb"]}, initial_token)

    body = response.get_json()
    assert response.status_code == 201, body
    assert "client_secret" not in body and body["token_endpoint_auth_method"] == "none"


def test_registration_needs_the_realm_switch_and_a_valid_initial_token(client, factory, realm, ctx):
    from idp.extensions import db
    from idp.services.client_registration import create_initial_access_token

    assert register(client, WEB_APP).status_code == 403
    assert "registration_endpoint" not in client.get(f"/realms/{REALM}/.well-known/openid-configuration").get_json()
    factory.realm(REALM, dynamic_client_registration=True)
    _row, once = create_initial_access_token(realm, expires_in=60, max_uses=1)
    _row, expired = create_initial_access_token(realm, expires_in=60)
    _row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.session.commit()

    anonymous = register(client, WEB_APP)
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "invalid_token"
    assert register(client, WEB_APP, once).status_code == 201
    assert register(client, WEB_APP, once).status_code == 401
    assert register(client, WEB_APP, expired).status_code == 401
    assert register(client, WEB_APP, "iat_made_up").status_code == 401


def test_initial_and_registration_tokens_are_stored_only_as_keyed_digests(client, initial_token, ctx):
    from idp.extensions import db
    from idp.models import Client, InitialAccessToken
    from idp.security import keyed_digest

    body = register(client, WEB_APP, initial_token).get_json()

    row = db.session.scalar(db.select(InitialAccessToken))
    registered = db.session.scalar(db.select(Client).filter_by(client_id=body["client_id"]))
    assert row.token_digest == keyed_digest(initial_token) and row.uses == 1
    assert registered.registration_token_digest == keyed_digest(body["registration_access_token"])
    assert registered.self_registered and not registered.first_party and registered.expires_at is None


def test_anonymous_registration_is_opt_in_capped_limited_and_expires(client, factory, realm, ctx, monkeypatch):
    from idp.extensions import db
    from idp.models import Client
    from idp.services import client_registration
    from idp.services.purge import purge_expired

    factory.realm(REALM, dynamic_client_registration=True, anonymous_client_registration=True)
    monkeypatch.setattr(client_registration, "MAX_ANONYMOUS_CLIENTS", 2)

    first = register(client, WEB_APP)
    assert first.status_code == 201
    assert register(client, WEB_APP).status_code == 201
    capped = register(client, WEB_APP)
    assert capped.status_code == 400 and "number of anonymously registered clients" in capped.get_json()["error_description"]
    registered = db.session.scalar(db.select(Client).filter_by(client_id=first.get_json()["client_id"]))
    assert registered.expires_at is not None

    for row in db.session.scalars(db.select(Client).filter_by(self_registered=True)):
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    db.session.commit()
    purge_expired(client.application.extensions["idp.settings"])
    assert db.session.scalar(db.select(db.func.count(Client.id)).filter_by(self_registered=True)) == 0


def test_an_expired_anonymous_client_cannot_log_users_in_or_get_tokens_before_the_purge(client, factory, realm, ctx):
    """The purge runs every few minutes, or not at all when an operator turned it off; the
    client's lifetime ends when it says, not when the purge comes."""
    from idp.extensions import db
    from idp.models import Client

    from .conftest import authorize_params, pkce_pair

    factory.realm(REALM, dynamic_client_registration=True, anonymous_client_registration=True)
    body = register(client, {**WEB_APP, "token_endpoint_auth_method": "client_secret_post"}).get_json()
    row = db.session.scalar(db.select(Client).filter_by(client_id=body["client_id"]))
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db.session.commit()

    _verifier, challenge = pkce_pair()
    authorize = client.get(f"/realms/{REALM}/authorize", query_string={
        **authorize_params(body["client_id"], challenge), "redirect_uri": WEB_APP["redirect_uris"][0]})
    token = client.post(f"/realms/{REALM}/token", data={
        "grant_type": "authorization_code", "code": "whatever", "redirect_uri": WEB_APP["redirect_uris"][0],
        "client_id": body["client_id"], "client_secret": body["client_secret"]})

    assert authorize.status_code == 400 and not (authorize.location or "").startswith("https://shop.example")
    assert token.get_json()["error"] == "invalid_client", token.get_json()


def test_anonymous_registrations_from_one_network_are_rate_limited(client, factory, realm, ctx, monkeypatch):
    from idp.services import client_registration

    factory.realm(REALM, dynamic_client_registration=True, anonymous_client_registration=True)
    monkeypatch.setattr(client_registration, "ANONYMOUS_REGISTRATION_RATE_LIMIT", "2 per hour")

    statuses = [register(client, WEB_APP).status_code for _ in range(3)]

    assert statuses == [201, 201, 429]


def test_the_cli_issues_lists_and_revokes_initial_access_tokens(runner, factory):
    import json

    factory.realm(REALM, dynamic_client_registration=True)
    created = runner("clients", "initial-token", "create", "--realm", REALM, "--expires-in", "600", "--max-uses", "3",
                     "--note", "CI", "--json")
    assert created.exit_code == 0, created.output
    token = json.loads(created.output)
    assert token["token"].startswith("iat_") and token["max_uses"] == 3

    listed = json.loads(runner("clients", "initial-token", "list", "--realm", REALM, "--json").output)
    assert [row["note"] for row in listed] == ["CI"] and "token" not in listed[0]
    assert runner("clients", "initial-token", "revoke", str(token["id"]), "--realm", REALM).exit_code == 0
    assert json.loads(runner("clients", "initial-token", "list", "--realm", REALM, "--json").output) == []
    bad = runner("clients", "initial-token", "create", "--realm", REALM, "--expires-in", "5")
    assert bad.exit_code != 0 and "expires_in" in bad.output


def test_the_api_issues_initial_access_tokens_and_marks_self_registered_clients(client, factory, ctx):
    from idp.extensions import db
    from idp.services.api_keys import create_api_key

    realm = factory.realm(REALM, dynamic_client_registration=True)
    _key, secret = create_api_key(realm, name="ops", scopes=["clients:read", "clients:write"])
    db.session.commit()
    api = {"Authorization": f"Bearer {secret}"}

    created = client.post(f"/api/v1/realms/{REALM}/initial_access_tokens", json={"expires_in": 600, "max_uses": 1,
                                                                                "note": "CI"}, headers=api)
    assert created.status_code == 201, created.get_json()
    token = created.get_json()["token"]
    registered = register(client, WEB_APP, token).get_json()
    shown = client.get(f"/api/v1/realms/{REALM}/clients/{registered['client_id']}", headers=api).get_json()
    listed = client.get(f"/api/v1/realms/{REALM}/initial_access_tokens", headers=api).get_json()
    revoked = client.delete(f"/api/v1/realms/{REALM}/initial_access_tokens/{created.get_json()['id']}", headers=api)

    assert shown["self_registered"] is True and shown["expires_at"] is None
    assert listed["initial_access_tokens"][0]["uses"] == 1 and "token" not in listed["initial_access_tokens"][0]
    assert revoked.status_code == 204
    bad = client.post(f"/api/v1/realms/{REALM}/initial_access_tokens", json={"expires_in": 1}, headers=api)
    assert bad.status_code in (400, 422)


def test_an_oversized_or_non_json_registration_is_refused_before_anything_is_stored(client, initial_token):
    big = register(client, {**WEB_APP, "client_name": "x", "contacts": ["a" * 40000]}, initial_token)
    form = client.post(f"/realms/{REALM}/register", data={"client_name": "Shop"},
                       headers={"Authorization": f"Bearer {initial_token}"})

    assert big.status_code == 400 and big.get_json()["error"] == "invalid_request"
    assert form.status_code == 400 and form.get_json()["error"] == "invalid_request"
    assert register(client, WEB_APP, initial_token).status_code == 201, "refusals used none of the token's uses"


def test_a_registration_or_update_with_a_nul_character_is_refused_not_a_server_error(client, initial_token):
    """PostgreSQL refuses NUL in text: the name used to reach the database and answer a 500."""
    named = register(client, {**WEB_APP, "client_name": "Shop\x00"}, initial_token)
    body = register(client, WEB_APP, initial_token).get_json()
    update = client.put(f"/realms/{REALM}/register/{body['client_id']}",
                        json={**WEB_APP, "client_id": body["client_id"], "client_name": "Shop\x00"},
                        headers={"Authorization": f"Bearer {body['registration_access_token']}"})

    assert named.status_code == 400 and named.get_json()["error"] == "invalid_request"
    assert update.status_code == 400 and update.get_json()["error"] == "invalid_request"
    assert register(client, WEB_APP, initial_token).status_code == 201, "the refusal used none of the token's uses"


def test_an_app_registers_its_public_key_and_authenticates_with_signed_assertions(client, initial_token):
    """RFC 7591 §2 with RFC 7523: a private_key_jwt app registers its keys, gets no secret, and
    proves who it is with an assertion signed by its key; a switch to client_secret_jwt through
    RFC 7592 hands out a secret, once."""
    from .jwt_clients import assertion_form, client_assertion, new_key, public_jwks

    key = new_key("ES256")
    response = register(client, {**WEB_APP, "token_endpoint_auth_method": "private_key_jwt",
                                 "jwks": public_jwks(key)}, initial_token)
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["token_endpoint_auth_method"] == "private_key_jwt" and "client_secret" not in body
    assert body["jwks"] == public_jwks(key)
    client_id = body["client_id"]
    revoked = client.post(f"/realms/{REALM}/revoke", data={
        "token": "not-a-token", **assertion_form(client_id, client_assertion(client_id, key, "ES256"))})
    assert revoked.status_code == 200, "the assertion authenticated the app"
    refused = client.post(f"/realms/{REALM}/revoke", data={"token": "x", "client_id": client_id,
                                                            "client_secret": "guess"})
    assert refused.status_code == 401

    headers = {"Authorization": f"Bearer {body['registration_access_token']}"}
    switched = client.put(f"/realms/{REALM}/register/{client_id}", headers=headers, json={
        **WEB_APP, "client_id": client_id, "token_endpoint_auth_method": "client_secret_jwt"})
    assert switched.status_code == 200, switched.get_json()
    assert switched.get_json()["token_endpoint_auth_method"] == "client_secret_jwt"
    assert switched.get_json()["client_secret"], "the new secret, shown once"
    assert "client_secret" not in client.get(f"/realms/{REALM}/register/{client_id}", headers=headers).get_json()


def test_a_public_app_cannot_register_keys(client, initial_token):
    from .jwt_clients import new_key, public_jwks

    response = register(client, {**WEB_APP, "token_endpoint_auth_method": "none",
                                 "jwks": public_jwks(new_key("ES256"))}, initial_token)

    assert response.status_code == 400 and response.get_json()["error"] == "invalid_client_metadata"
