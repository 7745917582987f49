"""`idp clients create|list|show|delete`: ``--json`` prints the client id and the one-time
secret; ``--public`` clients get none; ``--realm`` defaults to ``default``."""
from __future__ import annotations

import pytest

from .conftest import assert_one_line_error

CB = "https://app.example/callback"


def test_confidential_client_is_created_with_a_one_time_secret(idp, acme):
    created = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB,
                  "--redirect-uri", "http://localhost:8000/cb", "--json")

    assert created["client_id"] and len(created["client_secret"]) >= 32
    assert created["redirect_uris"] == [CB, "http://localhost:8000/cb"]
    assert created["public"] is False
    shown = idp("clients", "show", created["client_id"], "--realm", acme, "--json")
    assert "client_secret" not in shown
    assert created["client_secret"] not in idp("clients", "list", "--realm", acme)


def test_public_client_has_no_secret(idp, acme):
    created = idp("clients", "create", "--realm", acme, "--name", "SPA", "--redirect-uri", "http://127.0.0.1:3000/cb",
                  "--public", "--json")
    assert created["client_secret"] is None
    assert created["public"] is True
    assert "client_credentials" not in created["grant_types"]


def test_the_secret_is_shown_once_with_a_warning_in_plain_output(runner, acme):
    result = runner("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB)
    assert result.exit_code == 0
    assert "client_secret: " in result.stdout
    assert "shown only this once" in result.stderr


def test_client_registers_its_id_token_algorithm_and_logout_addresses(idp, acme):
    created = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB, "--id-token-alg", "EdDSA",
                  "--post-logout-redirect-uri", "https://app.example/bye", "--json")
    assert created["id_token_signed_response_alg"] == "EdDSA"
    assert created["post_logout_redirect_uris"] == ["https://app.example/bye"]


def test_clients_are_listed_per_realm(idp, acme):
    in_acme = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB, "--json")["client_id"]
    in_default = idp("clients", "create", "--name", "Blog", "--redirect-uri", CB, "--json")["client_id"]

    assert [c["client_id"] for c in idp("clients", "list", "--realm", acme, "--json")] == [in_acme]
    assert [c["client_id"] for c in idp("clients", "list", "--json")] == [in_default]
    assert in_acme in idp("clients", "list", "--realm", acme)


def test_deleted_client_is_gone(runner, idp, acme):
    client_id = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB, "--json")["client_id"]

    assert f"deleted client {client_id}" in idp("clients", "delete", client_id, "--realm", acme)

    assert_one_line_error(runner("clients", "show", client_id, "--realm", acme), f"client '{client_id}' does not exist")


def test_a_client_of_one_realm_is_unknown_in_another(runner, idp, acme):
    client_id = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB, "--json")["client_id"]
    assert_one_line_error(runner("clients", "show", client_id), f"client '{client_id}' does not exist in realm 'default'")


BAD_CLIENTS = [
    (("--realm", "nope", "--name", "X", "--redirect-uri", CB), "realm 'nope' does not exist"),
    (("--name", "X", "--redirect-uri", "http://app.example/cb"), "must use https"),
    (("--name", "X", "--redirect-uri", "https://app.example/cb#top"), "must not contain a fragment"),
    (("--name", "X", "--redirect-uri", "/relative/cb"), "must be an absolute URI"),
    (("--name", "X", "--redirect-uri", "javascript:alert(1)"), "scheme 'javascript' is not allowed"),
    (("--name", "X", "--redirect-uri", CB, "--post-logout-redirect-uri", "http://app.example/bye"), "must use https"),
    (("--name", "X", "--redirect-uri", CB, "--id-token-alg", "HS256"), "'--id-token-alg'"),
    (("--name", "X", "--redirect-uri", CB, "--public", "--client-credentials"), "public clients cannot use client_credentials"),
    (("--name", " ", "--redirect-uri", CB), "client name is required"),
    (("--name", "x" * 201, "--redirect-uri", CB), "at most 200 characters"),
    (("--name", "X", "--redirect-uri", CB, "--client-id", "has space"), "client id must be"),
    (("--name", "X", "--redirect-uri", CB, "--client-id", "user:pass"), "client id must be"),
    (("--name", "X", "--redirect-uri", CB, "--client-id", "x" * 65), "client id must be"),
    (("--name", "X", "--redirect-uri", CB + '"'), "must be a URI of ASCII characters"),
    (("--name", "X", "--redirect-uri", "https://app.example/c b"), "must be a URI of ASCII characters"),
    (("--name", "X", "--redirect-uri", "https://exämple.example/cb"), "must be a URI of ASCII characters"),
    (("--name", "X", "--redirect-uri", CB, "--resource-server-for", "nope"), "client 'nope' does not exist"),
    (("--name", "X", "--redirect-uri", CB, "--public", "--resource-server-for", "nope"),
     "a public client cannot introspect tokens"),
    (("--name", "X", "--redirect-uri", CB, "--home-uri", "http://app.example/"), "must be an https URL"),
    (("--name", "X", "--redirect-uri", CB, "--home-uri", "javascript:alert(1)//"), "must be an https URL"),
    (("--name", "X", "--redirect-uri", CB, "--home-uri", "https://user:pw@app.example/"), "without a fragment or credentials"),
    (("--name", "X", "--redirect-uri", CB, "--home-uri", "https://app.example/#top"), "without a fragment"),
    (("--name", "X", "--redirect-uri", CB, "--home-uri", "myapp://home"), "must be an https URL"),
    (("--redirect-uri", CB), "Missing option '--name'"),
    (("--name", "X", "--public"), "give at least one --redirect-uri"),
    (("--name", "X"), "give at least one --redirect-uri"),
]


@pytest.mark.parametrize(("args", "message"), BAD_CLIENTS, ids=[f"{i}-{m}" for i, (_, m) in enumerate(BAD_CLIENTS)])
def test_bad_client_input_fails_with_one_line(runner, args, message):
    assert_one_line_error(runner("clients", "create", *args), message)


def test_a_taken_client_id_is_refused(runner, idp):
    idp("clients", "create", "--name", "X", "--redirect-uri", CB, "--client-id", "shop")
    assert_one_line_error(runner("clients", "create", "--name", "Y", "--redirect-uri", CB, "--client-id", "shop"),
                          "client id 'shop' is taken")


@pytest.mark.parametrize("command", ["show", "delete"])
def test_unknown_client_fails_with_one_line(runner, command):
    assert_one_line_error(runner("clients", command, "nope"), "client 'nope' does not exist in realm 'default'")


def test_an_api_is_made_a_resource_server_of_apps_whose_tokens_it_may_introspect(idp, acme):
    shop = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB, "--json")["client_id"]
    blog = idp("clients", "create", "--realm", acme, "--name", "Blog", "--redirect-uri", CB, "--json")["client_id"]

    api = idp("clients", "create", "--realm", acme, "--name", "Orders API", "--no-client-credentials",
              "--redirect-uri", CB, "--resource-server-for", shop, "--json")

    assert api["resource_server_for"] == [shop]
    changed = idp("clients", "set", api["client_id"], "--realm", acme, "--resource-server-for", shop,
                  "--resource-server-for", blog, "--json")
    assert changed["resource_server_for"] == sorted([shop, blog])
    assert idp("clients", "show", api["client_id"], "--realm", acme, "--json")["resource_server_for"] == sorted(
        [shop, blog])
    cleared = idp("clients", "set", api["client_id"], "--realm", acme, "--resource-server-for", "", "--json")
    assert cleared["resource_server_for"] == []


def test_a_deleted_app_leaves_the_resource_server_lists(idp, acme):
    shop = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB, "--json")["client_id"]
    api = idp("clients", "create", "--realm", acme, "--name", "API", "--redirect-uri", CB,
              "--resource-server-for", shop, "--json")["client_id"]

    idp("clients", "delete", shop, "--realm", acme)

    assert idp("clients", "show", api, "--realm", acme, "--json")["resource_server_for"] == []


@pytest.mark.parametrize(("args", "message"), [
    (("nope",), "client 'nope' does not exist"),
    (("{api}", "--resource-server-for", "{api}"), "may always introspect its own tokens"),
    (("{api}", "--resource-server-for", "{other_realm_client}"), "does not exist in realm"),
])
def test_bad_clients_set_input_fails_with_one_line(runner, idp, acme, args, message):
    api = idp("clients", "create", "--realm", acme, "--name", "API", "--redirect-uri", CB, "--json")["client_id"]
    elsewhere = idp("clients", "create", "--name", "X", "--redirect-uri", CB, "--json")["client_id"]
    ids = {"api": api, "other_realm_client": elsewhere}
    before = idp("clients", "show", ids["api"], "--realm", acme, "--json")

    assert_one_line_error(runner("clients", "set", *[a.format(**ids) for a in args], "--realm", acme), message)
    assert idp("clients", "show", ids["api"], "--realm", acme, "--json") == before


# --- grant types ------------------------------------------------------------------------------

def test_a_confidential_client_gets_client_credentials_only_when_asked(idp, acme):
    plain = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB, "--json")
    asked = idp("clients", "create", "--realm", acme, "--name", "Batch", "--redirect-uri", CB,
                "--client-credentials", "--json")

    assert plain["grant_types"] == ["authorization_code", "refresh_token"]
    assert asked["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]


def test_grant_types_are_chosen_one_by_one_with_a_repeatable_option(idp, acme):
    service = idp("clients", "create", "--realm", acme, "--name", "Nightly job", "--grant-type", "client_credentials",
                  "--json")
    tv = idp("clients", "create", "--realm", acme, "--name", "TV app", "--public", "--grant-type", "device_code",
             "--grant-type", "refresh_token", "--json")

    assert service["grant_types"] == ["client_credentials"] and service["redirect_uris"] == []
    assert tv["grant_types"] == ["refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]


def test_an_operator_replaces_a_clients_grant_types(idp, acme):
    client_id = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB, "--json")["client_id"]

    changed = idp("clients", "set", client_id, "--realm", acme, "--grant-type", "authorization_code",
                  "--grant-type", "client_credentials", "--json")

    assert changed["grant_types"] == ["authorization_code", "client_credentials"]


BAD_GRANT_TYPES = [
    (("--name", "X", "--grant-type", "password"), "unknown grant type password"),
    (("--name", "X", "--grant-type", "implicit"), "unknown grant type implicit"),
    (("--name", "X", "--public", "--grant-type", "client_credentials"), "public clients cannot use client_credentials"),
    (("--name", "X", "--grant-type", "authorization_code"), "authorization_code needs at least one redirect URI"),
    (("--name", "X", "--grant-type", "refresh_token", "--grant-type", "client_credentials"),
     "refresh_token goes with authorization_code or device_code"),
]


@pytest.mark.parametrize(("args", "message"), BAD_GRANT_TYPES, ids=[m for _, m in BAD_GRANT_TYPES])
def test_a_grant_type_the_client_may_not_hold_is_refused_with_one_line(runner, args, message):
    assert_one_line_error(runner("clients", "create", *args), message)


def test_an_app_registers_its_home_page_and_changes_or_removes_it(idp, acme):
    created = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB,
                  "--home-uri", "https://app.example/", "--json")
    assert created["home_uri"] == "https://app.example/"
    changed = idp("clients", "set", created["client_id"], "--realm", acme, "--home-uri", "https://shop.example/start",
                  "--json")
    assert changed["home_uri"] == "https://shop.example/start"
    removed = idp("clients", "set", created["client_id"], "--realm", acme, "--home-uri", "", "--json")
    assert removed["home_uri"] is None


def test_a_bad_home_page_change_is_refused_and_keeps_the_old_one(runner, idp, acme):
    created = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB,
                  "--home-uri", "https://app.example/", "--json")
    assert_one_line_error(runner("clients", "set", created["client_id"], "--realm", acme, "--home-uri",
                                 "http://app.example/"), "must be an https URL")
    assert idp("clients", "show", created["client_id"], "--realm", acme, "--json")["home_uri"] == "https://app.example/"
