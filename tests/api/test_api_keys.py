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


def _key_admin(client, realm, scopes=("api_keys:admin", "users:read"), **kwargs):
    from .conftest import ApiClient

    return ApiClient(client, make_api_key(realm, "key admin", scopes=list(scopes), **kwargs))


def test_a_key_admin_makes_a_narrower_key_whose_secret_is_shown_once(client, realm):
    admin = _key_admin(client, realm)

    created = admin.post("/api_keys", {"name": "reports", "scopes": ["users:read"], "expires_at": "90d"})

    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["scopes"] == ["users:read"] and body["expires_at"] and body["secret"].startswith("idpk_")
    listed = admin.get("/api_keys").get_json()["api_keys"]
    assert {k["name"] for k in listed} == {"key admin", "reports"}
    assert body["secret"] not in str(listed) and body["secret"] not in str(admin.get(f"/api_keys/{body['id']}").get_json())
    reports = {"Authorization": f"Bearer {body['secret']}"}
    assert client.get("/api/v1/realms/acme/users", headers=reports).status_code == 200
    assert client.get("/api/v1/realms/acme/api_keys", headers=reports).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "wider", "scopes": ["users:write"]}, "scopes"),
    ({"name": "none", "scopes": []}, "scopes"),
    ({"name": "odd", "scopes": ["users:everything"]}, "scopes"),
    ({"name": "later", "scopes": ["users:read"], "expires_at": "2001-01-01"}, "expires_at"),
    ({"name": "key admin", "scopes": ["users:read"]}, "name"),
])
def test_a_key_cannot_make_a_stronger_key_or_a_bad_one(client, realm, body, field):
    admin = _key_admin(client, realm)

    response = admin.post("/api_keys", body)

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["fields"]
    assert len(admin.get("/api_keys").get_json()["api_keys"]) == 1


def test_a_key_that_expires_cannot_make_one_that_outlives_it(client, realm):
    import datetime as dt

    admin = _key_admin(client, realm, expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))

    never = admin.post("/api_keys", {"name": "forever", "scopes": ["users:read"]})
    sooner = admin.post("/api_keys", {"name": "brief", "scopes": ["users:read"], "expires_at": "12h"})

    assert never.status_code == 422 and "expires_at" in never.get_json()["fields"]
    assert sooner.status_code == 201


def test_a_key_revoked_through_the_api_is_refused_from_then_on(client, realm):
    admin = _key_admin(client, realm)
    other = admin.post("/api_keys", {"name": "app", "scopes": ["users:read"]}).get_json()

    assert admin.delete(f"/api_keys/{other['id']}").status_code == 204

    assert client.get("/api/v1/realms/acme/users",
                      headers={"Authorization": f"Bearer {other['secret']}"}).status_code == 401
    shown = admin.get(f"/api_keys/{other['id']}").get_json()
    assert shown["revoked_at"] and shown["active"] is False


def test_keys_of_another_realm_are_not_found(client, factory, realm):
    admin = _key_admin(client, realm)
    other_admin = _key_admin(client, factory.realm("other"))
    other_key = other_admin.post("/api_keys", {"name": "theirs", "scopes": ["users:read"]}, realm="other").get_json()

    assert admin.get(f"/api_keys/{other_key['id']}").status_code == 404
    assert admin.delete(f"/api_keys/{other_key['id']}").status_code == 404


def test_a_key_that_stopped_working_is_purged_with_the_audit_events_about_it(app, factory, realm):
    import datetime as dt

    from idp.extensions import db
    from idp.models import ApiKey
    from idp.services.api_keys import create_api_key
    from idp.services.purge import purge_expired

    now = dt.datetime.now(dt.timezone.utc)
    for name, revoked, expired in [("live", None, None), ("revoked long ago", 400, None),
                                   ("expired long ago", None, 400), ("revoked lately", 10, None)]:
        key, _ = create_api_key(realm, name)
        key.revoked_at = now - dt.timedelta(days=revoked) if revoked else None
        key.expires_at = now - dt.timedelta(days=expired) if expired else None
    db.session.commit()

    deleted = purge_expired(app.extensions["idp.settings"])

    assert deleted["api_keys"] == 2
    assert {k.name for k in db.session.scalars(db.select(ApiKey))} == {"live", "revoked lately"}
