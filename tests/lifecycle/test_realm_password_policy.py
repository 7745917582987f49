"""Each realm's password policy (NIST SP 800-63B: a minimum length, common passwords, the email
address; no composition rules) holds wherever a password is chosen: on the registration page
and on a password reset; the pages' hint states the realm's own minimum."""
from __future__ import annotations

import re

import pytest

from ..mfa.conftest import link, text_of

STRONG = "a long enough passphrase"


def open_registration(login):
    login.authorize()
    login.get(link(login.page, "Create an account"))
    assert "Create your account" in login.page
    return login


def register(login, password, email="new.person@example.com"):
    login.submit({"email": email, "password": password, "name": "New Person"})
    return login


def accepted(login) -> bool:
    """The registration went through: the page asks to confirm the address by mail."""
    return login.response.status_code == 200 and "Check your inbox" in login.page


def password_error(page: str) -> str:
    match = re.search(r'id="password-error"[^>]*>(.*?)</div>', page, re.S)
    return text_of(match.group(1)) if match else ""


def test_the_registration_page_states_and_applies_the_realms_own_minimum(realm_factory, browser):
    realm = realm_factory(mfa_enabled=False, password_min_length=16)
    login = open_registration(browser(realm))
    assert "At least 16 characters. Avoid common passwords." in text_of(login.page)

    register(login, "fifteen chars!!")
    assert login.response.status_code == 400
    assert "Password must be at least 16 characters." in text_of(login.page)

    register(login, "sixteen chars!!!")
    assert accepted(login)


def test_another_realm_keeps_the_default_minimum_of_8(realm_factory, browser):
    realm_factory("strict", mfa_enabled=False, password_min_length=20)
    relaxed = realm_factory("relaxed", mfa_enabled=False)
    login = open_registration(browser(relaxed))
    assert "At least 8 characters." in text_of(login.page)
    register(login, "8 chars!")
    assert accepted(login)


@pytest.mark.parametrize("password, email, message", [
    ("password1", "new.person@example.com", "This password is too common. Choose one that is harder to guess."),
    ("QWERTYUIOP", "new.person@example.com", "This password is too common. Choose one that is harder to guess."),
    ("new.person@example.com", "new.person@example.com", "Password must not be your email address."),
    ("my Rosalind password", "rosalind@example.com", "Password must not contain the first part of your email address."),
    ("alice2024 at the lake", "alice+idp@example.com", "Password must not contain the first part of your email address."),
])
def test_registration_refuses_common_passwords_and_the_email_address(realm_factory, browser, password, email, message):
    realm = realm_factory(mfa_enabled=False)
    login = register(open_registration(browser(realm)), password, email=email)
    assert login.response.status_code == 400
    assert password_error(login.page) == f"Error: {message}"


def test_a_short_local_part_does_not_block_passwords_that_contain_it(realm_factory, browser):
    """"bob" is in many good passwords; only a local part of 4 characters or more is checked."""
    realm = realm_factory(mfa_enabled=False)
    login = register(open_registration(browser(realm)), "bob builds sheds", email="bob@example.com")
    assert accepted(login)


def test_a_realm_may_turn_the_list_and_the_email_check_off(realm_factory, browser):
    realm = realm_factory(mfa_enabled=False, password_block_common=False, password_block_email=False)
    login = open_registration(browser(realm))
    assert "At least 8 characters." in text_of(login.page)
    assert "Avoid common passwords" not in text_of(login.page)
    register(login, "password1")
    assert accepted(login)

    other = register(open_registration(browser(realm)), "rosalind-at-home", email="rosalind@example.com")
    assert accepted(other)


def test_a_password_reset_is_held_to_the_realms_policy_and_the_link_stays_usable(
        realm_factory, user_factory, browser, mailbox, in_app):
    realm = realm_factory(mfa_enabled=False, password_min_length=20)
    with in_app():
        from idp.extensions import db
        from idp.services.realms import get_realm

        # alice chose her password before the realm asked for 20 characters
        get_realm(realm.name).password_min_length = 8
        db.session.commit()
        user_factory()
        get_realm(realm.name).password_min_length = 20
        db.session.commit()

    login = browser(realm)
    login.authorize()
    login.get(link(login.page, "Forgot password?"))
    login.submit({"email": "alice@example.com"})
    url = mailbox.link("alice@example.com", about="Reset your")

    login.get(url)
    assert "At least 20 characters. Avoid common passwords." in text_of(login.page)
    login.submit({"password": "only 19 characters!"})
    assert login.response.status_code == 400
    assert password_error(login.page) == "Error: Password must be at least 20 characters."

    login.get(url)
    login.submit({"password": "twenty characters!!!"})
    assert login.redirected_to_app, "the login that asked for the reset goes on"
