"""`idp realms set --password-min-length N --password-block-common on|off --password-block-email
on|off` (also `--no-password-block-common`): the realm's password policy, which `idp users create`
and `idp users set --password` then follow."""
from __future__ import annotations

import pytest

from .conftest import assert_one_line_error


def test_a_new_realm_starts_with_the_nist_defaults(idp, acme):
    shown = idp("realms", "show", acme, "--json")
    assert (shown["password_min_length"], shown["password_block_common"], shown["password_block_email"]) \
        == (8, True, True)


def test_admin_raises_the_minimum_and_users_create_follows_it(idp, runner, acme):
    shown = idp("realms", "set", acme, "--password-min-length", "15", "--json")
    assert shown["password_min_length"] == 15

    short = runner("users", "create", "--realm", acme, "--email", "bob@example.com", "--password", "-",
                   input="fourteen chars\n")
    assert_one_line_error(short, "Password must be at least 15 characters.")
    idp("users", "create", "--realm", acme, "--email", "bob@example.com", "--password", "-",
        input="fifteen chars!!\n")
    again = runner("users", "set", "bob@example.com", "--realm", acme, "--password", "-", input="too short\n")
    assert_one_line_error(again, "Password must be at least 15 characters.")


def test_admin_turns_the_common_password_list_off_and_on(idp, runner, acme):
    idp("realms", "set", acme, "--no-password-block-common")
    assert idp("realms", "show", acme, "--json")["password_block_common"] is False
    idp("users", "create", "--realm", acme, "--email", "bob@example.com", "--password", "-", input="password1\n")

    idp("realms", "set", acme, "--password-block-common", "on")
    refused = runner("users", "create", "--realm", acme, "--email", "carol@example.com", "--password", "-",
                     input="password1\n")
    assert_one_line_error(refused, "This password is too common.")


def test_admin_turns_the_email_check_off(idp, runner, acme):
    refused = runner("users", "create", "--realm", acme, "--email", "rosalind@example.com", "--password", "-",
                     input="rosalind's passphrase\n")
    assert_one_line_error(refused, "Password must not contain the first part of your email address.")
    idp("realms", "set", acme, "--password-block-email", "off")
    idp("users", "create", "--realm", acme, "--email", "rosalind@example.com", "--password", "-",
        input="rosalind's passphrase\n")


@pytest.mark.parametrize("args, fragment", [
    (["--password-min-length", "7"], "password_min_length must be a number of characters between 8 and 128"),
    (["--password-min-length", "129"], "password_min_length must be a number of characters between 8 and 128"),
    (["--password-min-length", "long"], "'long' is not a valid integer"),
    (["--password-block-common", "maybe"], "'maybe' is not one of 'on', 'off'"),
    (["--password-block-common", "on", "--no-password-block-common"],
     "give --password-block-common or --no-password-block-common, not both"),
])
def test_bad_policy_values_are_one_line_errors_and_change_nothing(idp, runner, acme, args, fragment):
    assert_one_line_error(runner("realms", "set", acme, "--display-name", "Renamed", *args), fragment)
    shown = idp("realms", "show", acme, "--json")
    assert (shown["display_name"], shown["password_min_length"], shown["password_block_common"]) == ("Acme", 8, True)
