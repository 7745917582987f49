"""Realm API keys: created by the CLI (secret printed once, stored as a digest), sent as a
Bearer token, confined to their realm, revocable, with a last-used time."""
from __future__ import annotations

import json

import pytest

from .conftest import make_api_key


def test_request_without_a_key_is_401_with_a_bearer_challenge(client, realm):
    response = client.get("/api/v1/realms/acme/users")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["error"] == "unauthorized" and body["error_description"] and body["fields"] == {}


@pytest.mark.parametrize("header", ["Bearer idpk_wrong", "Bearer nonsense", "Basic YTpi", "Bearer " + "x" * 5000])
def test_unknown_key_is_401(client, realm, header):
    response = client.get("/api/v1/realms/acme/users", headers={"Authorization": header})
    assert response.status_code == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_key_of_another_realm_is_403_even_for_a_realm_that_does_not_exist(client, factory, realm):
    other_key = make_api_key(factory.realm("other"))
    headers = {"Authorization": f"Bearer {other_key}"}
    assert client.get("/api/v1/realms/acme/users", headers=headers).status_code == 403
    assert client.get("/api/v1/realms/nowhere/users", headers=headers).status_code == 403
    assert client.get("/api/v1/realms/other/users", headers=headers).status_code == 200


def test_key_records_when_it_was_last_used_and_only_its_digest_is_stored(client, realm):
    from idp.extensions import db
    from idp.models import ApiKey

    secret = make_api_key(realm)
    row = db.session.scalar(db.select(ApiKey))
    assert row.last_used_at is None
    assert secret not in (row.key_digest, row.prefix) and secret.startswith(row.prefix)
    assert client.get("/api/v1/realms/acme/users", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    db.session.refresh(row)
    assert row.last_used_at is not None


def test_operator_creates_lists_and_revokes_a_key_with_the_cli(runner, client, factory):
    factory.realm("acme")
    created = runner("api-keys", "create", "--realm", "acme", "--name", "billing app")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("idpk_")
    assert "shown only this once" in created.stderr
    assert client.get("/api/v1/realms/acme/users", headers={"Authorization": f"Bearer {secret}"}).status_code == 200

    listed = runner("api-keys", "list", "--realm", "acme", "--json")
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["billing app"]
    assert secret not in listed.stdout

    duplicate = runner("api-keys", "create", "--realm", "acme", "--name", "billing app")
    assert duplicate.exit_code != 0

    revoked = runner("api-keys", "revoke", "billing app", "--realm", "acme")
    assert revoked.exit_code == 0, revoked.output
    response = client.get("/api/v1/realms/acme/users", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert json.loads(runner("api-keys", "list", "--realm", "acme", "--json").stdout)[0]["revoked_at"]
    assert runner("api-keys", "revoke", "billing app", "--realm", "acme").exit_code != 0


def test_revoked_key_name_can_be_reused(runner, factory):
    factory.realm("acme")
    runner("api-keys", "create", "--realm", "acme", "--name", "app")
    runner("api-keys", "revoke", "app", "--realm", "acme")
    assert runner("api-keys", "create", "--realm", "acme", "--name", "app").exit_code == 0


def test_unknown_realm_with_a_valid_key_for_it_is_404(client, api):
    response = client.get("/api/v1/realms/acme/users/nobody", headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
