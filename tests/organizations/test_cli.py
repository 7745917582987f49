"""An operator manages roles and organizations from the command line: the spellings the issue
pins (``idp orgs create|list|show|delete``, ``idp orgs members add|remove|set-role``, ``idp
roles create ... --permission P``), with one-line errors for bad input."""
from __future__ import annotations

import json

import pytest


@pytest.fixture
def acme(runner):
    assert runner("realms", "create", "acme").exit_code == 0
    assert runner("users", "create", "--realm", "acme", "--email", "alice@example.com", "--password", "-",
                  input="correct horse battery\n").exit_code == 0


def test_an_operator_sets_up_an_organization_with_members_and_roles(runner, acme, instance_path):
    created = runner("roles", "create", "billing", "--realm", "acme", "--permission", "invoices:read",
                     "--permission", "invoices:write", "--json")
    assert json.loads(created.stdout)["permissions"] == ["invoices:read", "invoices:write"]
    assert runner("roles", "create", "viewer", "--realm", "acme", "--permission", "invoices:read").exit_code == 0
    org = json.loads(runner("orgs", "create", "globex", "--realm", "acme", "--display-name", "Globex",
                            "--domain", "globex.example", "--auto-join", "--json").stdout)
    assert org["domains"] == [{"domain": "globex.example", "auto_join": True}]

    added = runner("orgs", "members", "add", "globex", "alice@example.com", "--realm", "acme", "--role", "billing")
    assert added.stdout.strip() == "alice@example.com is a member of globex (billing)"
    assert "viewer" in runner("orgs", "members", "set-role", "globex", "alice@example.com", "--realm", "acme",
                              "--role", "viewer").stdout
    shown = json.loads(runner("orgs", "show", org["id"], "--realm", "acme", "--json").stdout)
    assert [(m["email"], m["roles"]) for m in shown["members"]] == [("alice@example.com", ["viewer"])]
    assert runner("orgs", "list", "--realm", "acme").stdout.startswith("globex  org_")

    invited = runner("orgs", "invite", "globex", "--realm", "acme", "--email", "bob@example.com", "--role", "billing")
    assert invited.exit_code == 0 and "mailed to bob@example.com" in invited.stdout
    mail = [json.loads(line) for line in (instance_path / "mail-outbox.jsonl").read_text().splitlines()][-1]
    assert mail["to"] == "bob@example.com" and "/realms/acme/organization-invitations/" in mail["text"]
    assert "pending" in runner("orgs", "invitations", "globex", "--realm", "acme").stdout

    assert runner("orgs", "members", "remove", "globex", "alice@example.com", "--realm", "acme").exit_code == 0
    assert runner("orgs", "delete", "globex", "--realm", "acme").stdout.strip() == "deleted organization globex"
    assert runner("orgs", "list", "--realm", "acme", "--json").stdout.strip() == "[]"


def test_realm_roles_are_assigned_to_users(runner, acme):
    runner("roles", "create", "admin", "--realm", "acme", "--permission", "users:manage")

    assert "now has role admin" in runner("roles", "assign", "admin", "alice@example.com", "--realm", "acme").stdout
    assert json.loads(runner("roles", "show", "admin", "--realm", "acme", "--json").stdout)["users"] == [
        "alice@example.com"]
    assert "reports:read" in runner("roles", "set", "admin", "--realm", "acme", "--add-permission",
                                    "reports:read").stdout
    assert "no longer has" in runner("roles", "unassign", "admin", "alice@example.com", "--realm", "acme").stdout
    assert runner("roles", "delete", "admin", "--realm", "acme").exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["roles", "create", "viewer", "--permission", "has space"], "is not a valid permission"),
    (["orgs", "create", "Not_A_Slug"], "An organization name is"),
    (["orgs", "show", "nope"], "does not exist"),
    (["orgs", "members", "add", "nope", "alice@example.com"], "does not exist"),
    (["orgs", "create", "globex", "--default-role", "missing"], "does not exist"),
])
def test_bad_input_is_one_line_and_saves_nothing(runner, acme, args, message):
    result = runner(*args[:2], *args[2:], "--realm", "acme")

    assert result.exit_code != 0 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert runner("orgs", "list", "--realm", "acme", "--json").stdout.strip() == "[]"


def test_a_client_can_require_an_organization(runner, acme):
    created = json.loads(runner("clients", "create", "--realm", "acme", "--name", "Billing", "--redirect-uri",
                                "https://billing.example.com/cb", "--json").stdout)
    changed = runner("clients", "set", created["client_id"], "--realm", "acme", "--require-organization", "on",
                     "--json")
    assert json.loads(changed.stdout)["organization_required"] is True
