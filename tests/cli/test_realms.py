"""`idp realms create|list|show|set`: the realm's name is positional; bad input is one line."""
from __future__ import annotations

import pytest

from .conftest import assert_one_line_error


def test_admin_creates_a_realm_and_finds_it_in_the_list(idp, acme):
    created = idp("realms", "create", "shop", "--display-name", "Shop Inc", "--registration", "off", "--json")

    assert (created["name"], created["display_name"], created["registration"]) == ("shop", "Shop Inc", False)
    assert [r["name"] for r in idp("realms", "list", "--json")] == ["acme", "admin", "default", "shop"]
    assert "shop  Shop Inc" in idp("realms", "list")


def test_a_new_realm_gets_a_readable_display_name(idp):
    assert idp("realms", "create", "north-wind", "--json")["display_name"] == "North Wind"


def test_admin_shows_a_realms_settings(idp, acme):
    shown = idp("realms", "show", acme, "--json")
    assert shown["name"] == "acme" and shown["registration"] is True and shown["theme"] == "default"
    assert "registration: True" in idp("realms", "show", acme)


def test_admin_changes_settings_and_leaves_the_others_alone(idp, acme):
    idp("realms", "set", acme, "--registration", "off")
    idp("realms", "set", acme, "--display-name", "Acme", "--access-token-lifetime", "300")
    shown = idp("realms", "show", acme, "--json")
    assert (shown["registration"], shown["display_name"]) == (False, "Acme")


@pytest.mark.parametrize("countries", ["ZZ", "US,ZZ", "XX", "U1"])
def test_sms_countries_that_are_no_country_are_refused_instead_of_silently_blocking_every_text(
        runner, idp, acme, countries):
    """ZZ passed the old two-letter check and matched no phone number: SMS stopped everywhere."""
    idp("realms", "set", acme, "--sms-allowed-countries", "US,GB")

    assert_one_line_error(runner("realms", "set", acme, "--sms-allowed-countries", countries),
                          "not a country with phone numbers")
    assert idp("realms", "show", acme, "--json")["sms_allowed_countries"] == ["GB", "US"]


@pytest.mark.parametrize(("args", "message"), [
    (("realms", "create", "acme"), "realm 'acme' already exists"),
    (("realms", "create", "Not Valid"), "realm name must be"),
    (("realms", "create", "-leading-hyphen"), "No such option"),
    (("realms", "show", "nope"), "realm 'nope' does not exist"),
    (("realms", "set", "nope", "--registration", "off"), "realm 'nope' does not exist"),
    (("realms", "set", "acme", "--registration", "maybe"), "'--registration'"),
    (("realms", "set", "acme", "--theme", "no-such-theme"), "theme 'no-such-theme' does not exist"),
    (("realms", "set", "acme", "--access-token-lifetime", "5"), "access_token_lifetime must be"),
    (("realms", "set", "acme", "--access-token-lifetime", "soon"), "'--access-token-lifetime'"),
    (("realms", "set", "acme", "--display-name", " "), "display name must be"),
    (("realms", "delete", "acme"), "No such command 'delete'"),
])
def test_bad_realm_input_fails_with_one_line(runner, acme, args, message):
    assert_one_line_error(runner(*args), message)


def test_admin_lists_the_factors_a_realm_offers_and_the_old_switches_spell_the_same_list(idp, acme, runner):
    shown = idp("realms", "set", acme, "--factors", "email,totp", "--json")
    assert shown["factors"] == ["totp", "email"], "kept in the installation's order"
    assert (shown["totp"], shown["sms"]) == (True, False)
    shown = idp("realms", "set", acme, "--totp", "off", "--json")
    assert shown["factors"] == ["email"]
    assert idp("realms", "set", acme, "--factors", "", "--json")["factors"] == []
    assert_one_line_error(runner("realms", "set", acme, "--factors", "totp,passkeys"), "passkeys",
                          "not a factor of this installation")
    assert_one_line_error(runner("realms", "set", acme, "--factors", "recovery"), "recovery")
