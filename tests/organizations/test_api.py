"""An operator's back office manages organizations and roles through the management API with
a key scoped to them; bad input is a 4xx naming the field, and nothing half-written stays."""
from __future__ import annotations

import pytest

from ..api.conftest import ApiClient, make_api_key


@pytest.fixture
def realm(factory):
    realm = factory.realm("acme")
    factory.user(realm, email="alice@example.com")
    return realm


@pytest.fixture
def api(client, realm):
    return ApiClient(client, make_api_key(realm, scopes=["orgs:write", "roles:write", "users:read"]))


def test_a_back_office_sets_up_roles_an_organization_and_its_members(api, mailbox):
    role = api.post("/roles", {"name": "billing", "permissions": ["invoices:read", "invoices:write"],
                               "description": "Pays the bills"})
    assert role.status_code == 201 and role.get_json()["permissions"] == ["invoices:read", "invoices:write"]
    created = api.post("/organizations", {"name": "globex", "display_name": "Globex", "domains": ["globex.example"],
                                          "auto_join": True, "default_role": "billing"})
    assert created.status_code == 201, created.get_json()
    org = created.get_json()
    assert org["domains"] == [{"domain": "globex.example", "auto_join": True}] and org["default_role"] == "billing"
    assert api.get(f"/organizations/{org['id']}").get_json()["name"] == "globex", "by id too"

    member = api.post("/organizations/globex/members", {"user_id": "alice@example.com", "roles": ["billing"]})
    assert member.status_code == 201 and member.get_json()["permissions"] == ["invoices:read", "invoices:write"]
    assert api.patch("/organizations/globex/members/alice@example.com", {"roles": []}).get_json()["roles"] == []
    assert [o["name"] for o in api.get("/users/alice@example.com/organizations").get_json()["organizations"]] == [
        "globex"]
    assert api.post("/users/alice@example.com/roles", {"role": "billing"}).status_code == 201
    assert api.get("/users/alice@example.com/roles").get_json()["permissions"] == ["invoices:read", "invoices:write"]

    invited = api.post("/organizations/globex/invitations", {"email": "new@example.com", "role": "billing"})
    assert invited.status_code == 201 and invited.get_json()["status"] == "pending"
    assert "token" not in invited.get_json()
    assert mailbox.last("new@example.com")["subject"] == "You are invited to join Globex"
    assert api.delete(f"/organizations/globex/invitations/{invited.get_json()['id']}").status_code == 204
    assert api.get("/organizations/globex/invitations").get_json()["invitations"][0]["status"] == "expired"

    assert api.delete("/roles/billing").status_code == 204
    assert api.get("/organizations/globex/members/alice@example.com").get_json()["roles"] == []
    assert api.delete("/organizations/globex").status_code == 204
    assert api.get("/organizations/globex").status_code == 404


@pytest.mark.parametrize("path, body, field", [
    ("/roles", {"name": "ok", "permissions": ["not valid"]}, "permissions"),
    ("/roles", {"name": "Not A Slug!"}, "name"),
    ("/organizations", {"name": "-bad-"}, "name"),
    ("/organizations", {"name": "fine", "domains": ["not a domain"]}, "domain"),
    ("/organizations", {"name": "fine", "default_role": "missing"}, "default_role"),
    ("/organizations", {"name": 12}, "name"),
])
def test_bad_input_is_refused_and_nothing_is_created(api, path, body, field):
    response = api.post(path, body)

    assert 400 <= response.status_code < 500, response.get_json()
    if field:
        assert field in response.get_json()["fields"], response.get_json()
    assert api.get("/organizations").get_json()["organizations"] == []
    assert api.get("/roles").get_json()["roles"] == []


def test_a_key_with_only_orgs_read_can_look_but_not_change(client, realm):
    reader = ApiClient(client, make_api_key(realm, scopes=["orgs:read"]))

    assert reader.get("/organizations").status_code == 200
    refused = reader.post("/organizations", {"name": "globex"})
    assert refused.status_code == 403 and refused.get_json()["scope"] == "orgs:write"
    assert reader.get("/roles").get_json()["scope"] == "roles:read"


def test_a_client_can_be_made_to_require_an_organization(client, realm, factory):
    client_id, _ = factory.client(realm)
    api = ApiClient(client, make_api_key(realm, scopes=["clients:write"]))

    changed = api.patch(f"/clients/{client_id}", {"organization_required": True})

    assert changed.status_code == 200 and changed.get_json()["organization_required"] is True
