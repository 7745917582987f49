"""An API key sees only what its scopes allow: every route needs one scope, a key without it
gets 403 insufficient_scope in the API's error shape, and a key with only that scope gets past
the check. Tried on every route of the API, with the scope the OpenAPI document names."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from idp.api.access import required_scope
from idp.services.api_keys import SCOPES

from .conftest import REALM, ApiClient, make_api_key
from .test_no_server_errors import ROUTES

PROTECTED = [route for route in ROUTES if "/sessions/authenticate" not in route and "/sessions/send_code" not in route
             and "/sessions/complete_mfa" not in route and "openapi.json" not in route]
PATH_VALUES = {"realm_name": REALM, "user_id": "nobody@example.com", "credential_id": "totp_1",
               "integration_id": "999", "client_id": "nope", "provider_name": "nope", "key_id": "999",
               "session_id": "nope", "webhook_id": "999", "delivery_id": "999", "organization": "nope",
               "domain": "nope.example", "role_name": "nope", "invitation_id": "999", "token_id": "999"}


def _url(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: PATH_VALUES[m.group(1)], rule)


def _scope(route: str) -> str:
    method, rule = route.split(" ", 1)
    return required_scope(rule, method)


def test_every_route_that_needs_a_key_needs_a_known_scope():
    assert PROTECTED
    for route in PROTECTED:
        assert _scope(route) in SCOPES, route


@pytest.mark.parametrize("route", PROTECTED)
def test_a_key_without_the_routes_scope_is_refused_and_one_with_only_that_scope_gets_through(client, factory,
                                                                                            route):
    method, rule = route.split(" ", 1)
    realm = factory.realm(REALM)
    scope = _scope(route)
    implied_by = {"users:read": "users:write", "clients:read": "clients:write", "providers:read": "providers:write",
                  "realms:read": "realms:admin", "webhooks:read": "webhooks:admin", "orgs:read": "orgs:write",
                  "roles:read": "roles:write"}
    others = [s for s in SCOPES if s != scope and implied_by.get(scope) != s]
    server_route = "<realm_name>" not in rule
    owner = None if server_route else realm
    without = make_api_key(owner, "without", scopes=others)
    only = make_api_key(owner, "only", scopes=[scope])

    refused = client.open(_url(rule), method=method, json={}, headers={"Authorization": f"Bearer {without}"})

    assert refused.status_code == 403, refused.get_json()
    body = refused.get_json()
    assert (body["error"], body["scope"], body["fields"]) == ("insufficient_scope", scope, {})
    assert scope in body["error_description"]
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]

    allowed = client.open(_url(rule), method=method, json={}, headers={"Authorization": f"Bearer {only}"})
    assert allowed.status_code not in (401, 403), (route, allowed.get_json())


def test_the_openapi_document_names_the_scope_each_operation_needs(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for route in PROTECTED:
        method, rule = route.split(" ", 1)
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
        operation = document["paths"][path][method.lower()]
        assert operation["security"] == [{"apiKey": [_scope(route)]}], route
        assert _scope(route) in operation["description"]


def test_a_write_scope_includes_reading_the_same_things(client, factory):
    realm = factory.realm(REALM)
    api = ApiClient(client, make_api_key(realm, scopes=["users:write"]))

    assert api.get("/users").status_code == 200
    assert api.post("/users", {"email": "bob@example.com", "password": "a long passphrase"}).status_code == 201
    assert api.get("/clients").status_code == 403


def test_an_expired_key_is_401_like_an_unknown_one(client, factory):
    from idp.extensions import db
    from idp.models import ApiKey

    realm = factory.realm(REALM)
    api = ApiClient(client, make_api_key(realm, expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)))
    assert api.get("/users").status_code == 200

    row = db.session.scalar(db.select(ApiKey))
    row.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    db.session.commit()

    expired = api.get("/users")
    assert expired.status_code == 401
    assert expired.get_json()["error"] == "invalid_token" and "expired" in expired.get_json()["error_description"]
