"""``email_key``: the one form in which two addresses are compared (README, "Email addresses")."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.services.users import email_key

ONE_MAILBOX = [
    ("Émile@Example.com", "émile@example.com"),
    ("ÉMILE@EXAMPLE.COM", "émile@example.com"),
    ("E\u0301mile@example.com", "émile@example.com"),  # a combining accent: the same letter
    ("Éｍｉｌｅ@ｅｘａｍｐｌｅ.ｃｏｍ", "émile@example.com"),  # fullwidth letters
    ("\ufb01nn@example.com", "finn@example.com"),  # the "fi" ligature
    ("anna@bücher.example", "anna@xn--bcher-kva.example"),
    ("anna@BÜCHER.EXAMPLE", "anna@xn--bcher-kva.example"),
    ("Anna@XN--BCHER-KVA.example", "anna@xn--bcher-kva.example"),
    ("Straße@example.com", "strasse@example.com"),  # casefold, as for every other letter
]

DIFFERENT_MAILBOXES = [
    ("alice@example.com", "\u0430lice@example.com"),  # Cyrillic а: another script, another mailbox
    ("alice@example.com", "alice@ex\u0430mple.com"),  # and in the domain
    ("x@faß.de", "x@fass.de"),  # two domains under IDNA 2008: the domain is not casefolded
    ("alice@example.com", "alice@example.org"),
    ("alice+shop@example.com", "alice@example.com"),  # sub-addresses are the mail server's business
]


@pytest.mark.parametrize("typed, key", ONE_MAILBOX)
def test_spellings_of_one_mailbox_have_one_key(typed, key):
    assert email_key(typed) == email_key(key) == key


@pytest.mark.parametrize("one, other", DIFFERENT_MAILBOXES)
def test_look_alike_addresses_of_different_mailboxes_keep_different_keys(one, other):
    assert email_key(one) != email_key(other)


@given(st.text(max_size=80))
def test_every_string_has_a_key_and_the_key_is_its_own_key(text):
    key = email_key(text)
    assert email_key(key) == key


def test_addresses_idna_refuses_still_have_a_stable_key_for_accounts_made_before_the_rule():
    assert email_key("Bob@Ex_Ample.com") == "bob@ex_ample.com"
    assert email_key("bob@\u2603.example") == email_key("BOB@\u2603.EXAMPLE")


def test_two_registrations_of_one_mailbox_at_the_same_moment_make_one_account(factory, monkeypatch):
    """The second request looked the address up before the first committed: the unique key
    stops it with the same answer as a lookup would have, not a server error."""
    from idp.extensions import db
    from idp.models import User
    from idp.services import ServiceError, users

    realm = factory.realm("acme")
    factory.user(realm, email="Émile@example.com")
    monkeypatch.setattr(users, "find_user_by_email", lambda realm, email: None)

    with pytest.raises(ServiceError, match="already exists"):
        users.create_user(realm, email="émile@example.com", password=None)
    assert db.session.scalar(db.select(db.func.count(User.id)).filter_by(realm_id=realm.id)) == 1


@pytest.mark.parametrize("address", [
    "victim@example.com.",  # the fully qualified spelling of victim@example.com
    '"victim"@example.com',  # a quoted local part
    "victim@example.com, other@example.com",  # two recipients in one header
    "a,b@example.com", "v<x>@example.com", "x@xn--example-.com",  # a punycode label IDNA refuses
])
def test_new_addresses_are_one_plain_mailbox(app, address):
    from idp.services import ServiceError
    from idp.services.users import normalize_email

    with app.test_request_context(), pytest.raises(ServiceError):
        normalize_email(address)


def test_fully_qualified_domain_has_the_same_key():
    from idp.services.users import email_key

    assert email_key("victim@example.com.") == email_key("victim@example.com")


def test_password_lock_counts_an_address_as_its_account_is_found(app):
    """The lock's counter and the account lookup fold an address the same way, whatever its
    case (an upper-case Σ in a domain is where a raw key and a lookup's key used to part)."""
    from idp.services.password_attempts import address_key
    from idp.services.users import email_key, normalize_email

    with app.test_request_context():
        for typed in ("ANNA@ΒΙΒΛΊΑΣ.EXAMPLE", "anna@βιβλίας.example", "Éｍｉｌｅ@Example.com"):
            assert address_key(typed) == email_key(normalize_email(typed))
