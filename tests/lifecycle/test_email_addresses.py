"""One mailbox, one account, on the hosted pages: an address with non-ASCII letters registers,
logs in and resets whatever case or width it is typed in, and cannot be registered twice by
typing it another way (SQLite's ``lower()`` folds ASCII only; the key is folded in Python)."""
import pytest

from ..helpers import PASSWORD
from ..mfa.conftest import link, logged_in_claims, text_of
from .test_password_reset import NEW_PASSWORD, ask_for_reset, choose_password

REGISTERED = "Émile@Example.com"
STORED = "Émile@example.com"  # as typed, the domain lower-cased
SPELLINGS = ["émile@example.com", "ÉMILE@EXAMPLE.COM", "Éｍｉｌｅ@ｅｘａｍｐｌｅ.ｃｏｍ", "E\u0301mile@example.com"]


def register(login, email, password=PASSWORD):
    """Fill the registration form; it ends on "Check your inbox" whether or not the address has
    an account (the account, or the owner's notice, is made off the response)."""
    login.authorize()
    login.get(link(login.page, "Create an account"))
    login.submit({"email": email, "password": password, "name": "Émile"})


def register_and_confirm(login, mailbox, email, stored):
    register(login, email)
    assert "Check your inbox" in text_of(login.page)
    login.open_mailed_link(mailbox.link(stored, about="Verify"))


def accounts_with_key(in_app, email) -> list[str]:
    from idp.extensions import db
    from idp.models import User
    from idp.services.users import email_key

    with in_app():
        return [u.email for u in db.session.scalars(db.select(User).filter_by(email_normalized=email_key(email)))]


@pytest.fixture
def realm(realm_factory):
    return realm_factory(mfa_enabled=False)


@pytest.fixture
def emile(realm, browser, in_app, mailbox):
    register_and_confirm(browser(realm), mailbox, REGISTERED, STORED)
    assert accounts_with_key(in_app, REGISTERED) == [STORED]
    return STORED


@pytest.mark.parametrize("typed", [REGISTERED, STORED, *SPELLINGS])
def test_non_ascii_address_logs_in_whatever_case_or_width_it_is_typed_in(realm, emile, browser, typed):
    login = browser(realm)
    login.authorize()
    login.log_in(typed)
    assert logged_in_claims(login)["email"] == STORED, "the address as registered, not as typed now"


@pytest.mark.parametrize("typed", SPELLINGS)
def test_second_account_cannot_be_registered_by_typing_a_non_ascii_address_another_way(realm, emile, browser,
                                                                                      in_app, mailbox, typed):
    intruder = browser(realm)
    register(intruder, typed, password="another passphrase")
    assert "Check your inbox" in text_of(intruder.page)
    mailbox.messages()  # the background half of the registration has run
    assert accounts_with_key(in_app, typed) == [STORED], "still one account for the mailbox"


def test_password_reset_finds_a_non_ascii_address_typed_in_another_case_and_mails_the_registered_one(
        realm, emile, browser, mailbox):
    login = ask_for_reset(browser(realm), "ÉMILE@EXAMPLE.COM")
    assert "Check your email" in login.page
    assert [m["to"] for m in mailbox.messages() if "Reset" in m["subject"]] == [STORED]
    choose_password(login, mailbox.link(STORED, about="Reset your"))
    assert logged_in_claims(login)["email"] == STORED

    again = browser(realm)
    again.authorize()
    again.log_in("émile@example.com", NEW_PASSWORD)
    assert again.redirected_to_app


def test_idn_domain_and_its_punycode_are_one_account(realm, browser, in_app, mailbox):
    register_and_confirm(browser(realm), mailbox, "anna@Bücher.example", "anna@bücher.example")
    assert accounts_with_key(in_app, "anna@xn--bcher-kva.example") == ["anna@bücher.example"]

    login = browser(realm)
    login.authorize()
    login.log_in("ANNA@XN--BCHER-KVA.EXAMPLE")
    assert logged_in_claims(login)["email"] == "anna@bücher.example"

    intruder = browser(realm)
    register(intruder, "anna@xn--bcher-kva.example", password="another passphrase")
    mailbox.messages()
    assert accounts_with_key(in_app, "anna@bücher.example") == ["anna@bücher.example"]


@pytest.mark.parametrize("typed", [
    "ali\u200bce@example.com",  # a zero-width space: looks like alice@example.com
    "alice\uff20evil@example.com",  # a fullwidth @ that NFKC would turn into a second @
    "alice@\u2603.example",  # a domain IDNA refuses
])
def test_registration_refuses_addresses_that_hide_characters_or_have_no_comparable_form(realm, browser, in_app,
                                                                                      typed):
    login = browser(realm)
    register(login, typed)
    assert login.response.status_code == 400
    assert "Enter a valid email address." in text_of(login.page)
