"""What an operator sees and changes from the command line: a provider changed in place with
any 'providers add' option, token lifetimes in 'realms show', 'disabled' in 'users show', and
API keys with scopes, an expiry, or for every realm."""
from __future__ import annotations

import datetime as dt

import pytest

from idp.services.realm_settings import REALM_SETTINGS

from .conftest import assert_one_line_error


def test_operator_changes_a_provider_with_any_add_option_without_removing_it(idp, acme):
    idp("providers", "add", "--realm", acme, "--kind", "oidc", "--name", "corp", "--issuer",
        "https://sso.corp.example", "--client-id", "idp", "--client-secret", "first")

    said = idp("providers", "set", "corp", "--realm", acme, "--issuer", "https://login.corp.example",
               "--client-id", "idp-2", "--scope", "openid email", "--display-name", "Corp SSO",
               "--mfa-mode", "upstream", "--upstream-mfa-acr", "urn:corp:mfa", "--trust-email", "on", "--disabled")
    idp("providers", "set", "corp", "--realm", acme, "--client-secret", "-", input="second\n")

    assert "mfa mode upstream" in said and "disabled" in said
    [corp] = idp("providers", "list", "--realm", acme, "--json")
    assert (corp["issuer"], corp["client_id"], corp["scope"], corp["display_name"], corp["mfa_mode"],
            corp["upstream_mfa_acr"], corp["trust_email"], corp["enabled"]) == (
        "https://login.corp.example", "idp-2", "openid email", "Corp SSO", "upstream", ["urn:corp:mfa"], True, False)
    assert idp("providers", "set", "corp", "--realm", acme, "--enabled").endswith("enabled\n")


def test_a_bad_provider_change_is_one_line_and_changes_nothing(idp, runner, acme):
    idp("providers", "add", "--realm", acme, "--kind", "google", "--name", "google", "--client-id", "g")

    assert_one_line_error(runner("providers", "set", "google", "--realm", acme, "--issuer", "http://evil.example",
                                 "--display-name", "Evil"), "https")
    [google] = idp("providers", "list", "--realm", acme, "--json")
    assert (google["issuer"], google["display_name"]) == ("https://accounts.google.com", "Google")


def test_realms_show_has_every_setting_and_the_token_lifetimes(idp, acme):
    idp("realms", "set", acme, "--access-token-lifetime", "600")

    shown = idp("realms", "show", acme, "--json")
    text = idp("realms", "show", acme)

    assert {setting.cli_key for setting in REALM_SETTINGS} <= set(shown)
    assert (shown["access_token_lifetime"], shown["id_token_lifetime"]) == (600, None)
    assert "access_token_lifetime: 600" in text
    assert "refresh_token_lifetime: " in text and "(server default)" in text


def test_every_realm_setting_has_its_command_line_option(runner):
    usage = runner("realms", "set", "--help").stdout
    for setting in REALM_SETTINGS:
        assert setting.flag in usage, setting.flag


def test_users_show_says_whether_the_account_is_disabled(idp, acme, alice):
    assert idp("users", "show", alice["email"], "--realm", acme, "--json")["disabled"] is False
    idp("users", "set", alice["email"], "--realm", acme, "--disabled", "on")
    assert "disabled: True" in idp("users", "show", alice["email"], "--realm", acme)


def test_an_api_key_gets_the_scopes_and_expiry_it_is_given(idp, acme):
    created = idp("api-keys", "create", "--realm", acme, "--name", "reports", "--scope", "users:read",
                  "--scope", "audit:read", "--expires", "30d", "--json")

    assert created["scopes"] == ["users:read", "audit:read"]
    expires = dt.datetime.fromisoformat(created["expires_at"])
    assert dt.timedelta(days=29) < expires - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(days=30)
    assert idp("api-keys", "list", "--realm", acme, "--json")[0]["scopes"] == ["users:read", "audit:read"]


def test_an_api_key_without_scopes_gets_every_scope(idp, acme):
    from idp.services.api_keys import SCOPES

    assert idp("api-keys", "create", "--realm", acme, "--name", "all", "--json")["scopes"] == list(SCOPES)


@pytest.mark.parametrize(("args", "message"), [
    (("--scope", "users:everything"), "unknown scope users:everything"),
    (("--expires", "someday"), "is not an expiry"),
    (("--expires", "2001-01-01"), "must be in the future"),
    (("--server", "--realm", "acme"), "not both"),
])
def test_a_bad_api_key_request_is_one_line_and_makes_no_key(idp, runner, acme, args, message):
    result = runner("api-keys", "create", "--name", "bad", *args)
    assert result.exit_code != 0 and message in result.output, result.output
    assert idp("api-keys", "list", "--realm", acme, "--json") == []


def test_a_server_level_key_works_in_every_realm(idp, runner, make_app, acme):
    secret = runner("api-keys", "create", "--server", "--name", "fleet", "--scope", "realms:read").stdout.strip()

    client = make_app().test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(f"/api/v1/realms/{acme}/settings", headers=headers).status_code == 200
    assert client.get("/api/v1/realms/default/settings", headers=headers).status_code == 200
    assert client.get(f"/api/v1/realms/{acme}/users", headers=headers).status_code == 403
    assert [k["name"] for k in idp("api-keys", "list", "--server", "--json")] == ["fleet"]
    assert idp("api-keys", "list", "--realm", acme, "--json") == []
    idp("api-keys", "revoke", "fleet", "--server")
    assert client.get(f"/api/v1/realms/{acme}/settings", headers=headers).status_code == 401
