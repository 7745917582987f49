"""Registration without account enumeration: the same "Check your inbox" whether or not the
address has an account; a new address gets a pending account and a link that continues the login
in the browser that registered; an existing address's owner is told; and a pending registration
can be neither logged in to, squatted, nor continued from another browser."""
import datetime as dt
import threading

import pytest

from ..helpers import PASSWORD
from ..mfa.conftest import link, logged_in_claims, text_of

NEW_USER = "nina@example.com"
OTHER_PASSWORD = "a different passphrase"


@pytest.fixture
def realm(realm_factory):
    return realm_factory(mfa_enabled=False)


def _stored_user(in_app, email):
    from idp.extensions import db
    from idp.models import User

    with in_app():
        user = db.session.scalar(db.select(User).filter_by(email=email))
        if user is not None:
            db.session.expunge(user)
        return user


def _logs_in(browser, realm, email, password) -> bool:
    login = browser(realm)
    login.authorize()
    login.log_in(email, password)
    return login.redirected_to_app


def _registering(browser, realm, email, password=PASSWORD, name=""):
    login = browser(realm)
    login.authorize()
    login.register(email, password, name)
    return login


# --- the same answer either way --------------------------------------------------------------

def test_registering_an_existing_address_answers_exactly_like_a_new_address(realm, user_factory, browser, mailbox):
    user_factory()
    new = _registering(browser, realm, NEW_USER)
    existing = _registering(browser, realm, "alice@example.com")

    assert new.response.status_code == existing.response.status_code == 200
    assert text_of(new.page).replace("n•••@", "?•••@") == text_of(existing.page).replace("a•••@", "?•••@")
    assert "Check your inbox" in new.page and "already exists" not in existing.page
    assert not new.redirected_to_app and not existing.redirected_to_app
    assert mailbox.subjects(NEW_USER) == ["Verify your email address for Acme"]
    assert mailbox.subjects("alice@example.com") == ["Someone tried to create a Acme account with your address"]


def test_registration_does_the_same_work_in_the_request_whether_or_not_the_address_has_an_account(
        realm, user_factory, browser, mailbox, monkeypatch):
    """Same timing: the request hashes the password either way and never looks the address up;
    finding the account, storing and mailing happen off the response."""
    from idp.lifecycle import registration

    user_factory()
    hashed_in_request, looked_up_in_request, looked_up_elsewhere = [], [], []
    real_hash, real_find = registration.hash_password, registration.find_user_by_email

    def counted_hash(password):
        hashed_in_request.append(threading.current_thread() is threading.main_thread())
        return real_hash(password)

    def watched_find(realm, email):
        in_request = threading.current_thread() is threading.main_thread()
        (looked_up_in_request if in_request else looked_up_elsewhere).append(email)
        return real_find(realm, email)

    monkeypatch.setattr(registration, "hash_password", counted_hash)
    monkeypatch.setattr(registration, "find_user_by_email", watched_find)
    _registering(browser, realm, NEW_USER)
    _registering(browser, realm, "alice@example.com")
    mailbox.messages()

    assert hashed_in_request == [True, True]
    assert looked_up_in_request == []
    assert sorted(looked_up_elsewhere) == ["alice@example.com", NEW_USER]


@pytest.mark.parametrize("email, password, message", [
    ("not-an-address", PASSWORD, "Enter a valid email address."),
    (NEW_USER, "short", "Password must be at least 8 characters."),
    ("alice@example.com", "short", "Password must be at least 8 characters."),
    ("alice@example.com", "alice@example.com", "Password must not be your email address."),
    (NEW_USER, "password", "This password is too common."),
])
def test_mistakes_that_do_not_depend_on_an_account_still_show_on_the_form(realm, user_factory, browser, mailbox,
                                                                          email, password, message):
    user_factory()
    login = _registering(browser, realm, email, password)
    assert login.response.status_code == 400
    assert message in text_of(login.page)
    assert "Create your account" in login.page
    assert mailbox.messages() == []


def test_existing_owner_is_told_someone_tried_to_register_and_nothing_changes(realm, user_factory, browser,
                                                                              mailbox, in_app):
    alice = user_factory()
    _registering(browser, realm, "alice@example.com", OTHER_PASSWORD, name="Mallory")

    mail = mailbox.last("alice@example.com", about="Someone tried")
    assert "You already have an account, so nothing was changed." in mail["text"]
    assert "http://localhost/realms/acme/account" in mail["text"], "a way to log in"
    reset_link = mailbox.link("alice@example.com", about="Someone tried")
    assert "/realms/acme/reset-password/" in reset_link and "/login/" not in reset_link, \
        "the reset is not bound to the stranger's login"
    stored = _stored_user(in_app, "alice@example.com")
    assert (stored.id, stored.name, stored.registration_pending_since) == (alice.id, None, None)
    assert _logs_in(browser, realm, "alice@example.com", PASSWORD)
    assert not _logs_in(browser, realm, "alice@example.com", OTHER_PASSWORD)

    owner = browser(realm)
    owner.open_mailed_link(reset_link, password="the owner's new passphrase")
    assert "Password changed" in owner.page


def test_unverified_account_an_administrator_created_counts_as_an_existing_account(realm, user_factory, browser,
                                                                                    mailbox, in_app):
    user_factory()  # email_verified false, as `idp users create` without --email-verified
    _registering(browser, realm, "alice@example.com", OTHER_PASSWORD)
    assert mailbox.subjects("alice@example.com") == ["Someone tried to create a Acme account with your address"]
    assert _logs_in(browser, realm, "alice@example.com", PASSWORD)
    assert _stored_user(in_app, "alice@example.com").registration_pending is False


# --- a new address ---------------------------------------------------------------------------

def test_new_address_confirmed_in_the_browser_that_registered_continues_the_login(realm, browser, mailbox):
    login = browser(realm)
    login.authorize()
    login.register_and_confirm(mailbox, NEW_USER, name="Nina")
    claims = logged_in_claims(login)
    assert (claims["email"], claims["email_verified"], claims["amr"]) == (NEW_USER, True, ["pwd"])
    assert _logs_in(browser, realm, NEW_USER, PASSWORD)


def test_registration_asking_for_a_second_factor_continues_to_enter_phone_number(realm_factory, browser, mailbox):
    """roq-mfa.txt, "MFA for new users": after registering, "Enter Phone Number"."""
    realm = realm_factory(mfa_registration_form=True)
    login = browser(realm)
    login.authorize()
    login.register_and_confirm(mailbox, NEW_USER)
    assert "Enter your phone number" in text_of(login.page)


def test_registered_password_does_not_log_in_before_the_address_is_verified(realm, user_factory, browser, mailbox):
    """Otherwise registering and then logging in would tell which addresses already had an
    account: both answer like a wrong password."""
    user_factory()
    _registering(browser, realm, NEW_USER, OTHER_PASSWORD)
    _registering(browser, realm, "alice@example.com", OTHER_PASSWORD)
    mailbox.messages()

    answers = []
    for email in (NEW_USER, "alice@example.com"):
        login = browser(realm)
        login.authorize()
        login.log_in(email, OTHER_PASSWORD)
        answers.append((login.response.status_code, "Incorrect email or password." in text_of(login.page)))
    assert answers == [(400, True), (400, True)]


# --- squatting and hijacking -----------------------------------------------------------------

def test_someone_registering_the_owners_address_cannot_squat_it_because_the_owners_reset_wins(
        realm, browser, mailbox, in_app):
    _registering(browser, realm, NEW_USER, OTHER_PASSWORD)  # the squatter's password
    mailbox.messages()
    assert _stored_user(in_app, NEW_USER).registration_pending

    owner = browser(realm)
    owner.authorize()
    owner.get(link(owner.page, "Forgot password?"))
    owner.submit({"email": NEW_USER})
    owner.open_mailed_link(mailbox.link(NEW_USER, about="Reset"), password="the owner's own passphrase")
    assert owner.redirected_to_app, "the reset continues the owner's login"
    assert logged_in_claims(owner)["email_verified"] is True

    assert not _logs_in(browser, realm, NEW_USER, OTHER_PASSWORD)
    assert _logs_in(browser, realm, NEW_USER, "the owner's own passphrase")
    assert _stored_user(in_app, NEW_USER).registration_pending_since is None


def test_owner_opening_the_link_of_someone_elses_registration_cannot_confirm_it_without_that_password(
        realm, browser, mailbox, in_app):
    squatter = _registering(browser, realm, NEW_USER, OTHER_PASSWORD)
    owner = browser(realm)
    owner.get(mailbox.link(NEW_USER, about="Verify"))
    assert "Enter the password chosen then" in text_of(owner.page)

    owner.submit({"password": PASSWORD})
    assert owner.response.status_code == 400
    assert "That is not the password chosen when this account was created." in text_of(owner.page)
    assert _stored_user(in_app, NEW_USER).registration_pending
    assert not _logs_in(browser, realm, NEW_USER, OTHER_PASSWORD)
    squatter.get(squatter.page_url)
    assert not squatter.redirected_to_app


def test_link_opened_in_another_browser_never_continues_the_login_that_registered(realm, browser, mailbox, in_app):
    registering = _registering(browser, realm, NEW_USER)
    url = mailbox.link(NEW_USER, about="Verify")
    assert "/login/" in url, "the link names the login that asked for it"

    phone = browser(realm)
    phone.open_mailed_link(url, password=PASSWORD)
    assert "Email address verified" in text_of(phone.page)
    assert not phone.redirected_to_app and "idp_session" not in phone.response.headers.get("Set-Cookie", "")
    registering.get(registering.page_url)
    assert not registering.redirected_to_app, "the registering browser did not open the link"
    assert _logs_in(browser, realm, NEW_USER, PASSWORD), "the person who knows the password logs in as usual"


def test_verification_link_of_a_registration_works_once(realm, browser, mailbox):
    login = _registering(browser, realm, NEW_USER)
    url = mailbox.link(NEW_USER, about="Verify")
    login.open_mailed_link(url)
    assert login.redirected_to_app
    again = browser(realm)
    again.get(url)
    assert again.response.status_code == 400 and "This link was already used" in text_of(again.page)


# --- registering again -----------------------------------------------------------------------

def test_registering_again_replaces_an_unconfirmed_registration(realm, browser, mailbox, age_links, in_app):
    """The person lost the first mail (or someone else registered the address first): the newest
    registration decides the password, and earlier links stop working."""
    _registering(browser, realm, NEW_USER, OTHER_PASSWORD, name="First")
    first_link = mailbox.link(NEW_USER, about="Verify")
    first_id = _stored_user(in_app, NEW_USER).id
    age_links(61)

    second = browser(realm)
    second.authorize()
    second.register_and_confirm(mailbox, NEW_USER, PASSWORD, name="Second")
    assert second.redirected_to_app
    stored = _stored_user(in_app, NEW_USER)
    assert (stored.id, stored.name, stored.email_verified) == (first_id, "Second", True)
    late = browser(realm)
    late.get(first_link)
    assert late.response.status_code == 400
    assert not _logs_in(browser, realm, NEW_USER, OTHER_PASSWORD)


def test_registrations_of_one_address_inside_the_cool_down_send_one_mail_and_change_nothing(
        realm, user_factory, browser, mailbox, in_app, audit_events):
    user_factory()
    for password in (PASSWORD, OTHER_PASSWORD):
        _registering(browser, realm, NEW_USER, password)
        _registering(browser, realm, "alice@example.com", password)
        mailbox.messages()  # each registration's mail is sent in the background: the first comes first
    assert len(mailbox.messages(NEW_USER)) == 1
    assert len(mailbox.messages("alice@example.com")) == 1
    assert len(audit_events("registration.throttled")) == 2
    phone = browser(realm)
    phone.open_mailed_link(mailbox.link(NEW_USER, about="Verify"), password=PASSWORD)
    assert "Email address verified" in text_of(phone.page), "the first registration's password stands"


def test_registrations_never_verified_are_deleted_after_a_week(realm, user_factory, browser, mailbox, in_app):
    """An anonymous visitor made them: they may not stay for ever. Each new registration clears
    the abandoned ones (a few at a time); a periodic clean-up can call the same function."""
    from idp.extensions import db
    from idp.services.users import delete_abandoned_registrations
    from idp.models import User, utcnow

    user_factory()
    _registering(browser, realm, NEW_USER)
    mailbox.messages()
    with in_app():
        assert delete_abandoned_registrations(now=utcnow() + dt.timedelta(days=6)) == 0
        db.session.get(User, _stored_user(in_app, NEW_USER).id).registration_pending_since -= dt.timedelta(days=8)
        db.session.commit()

    _registering(browser, realm, "someone.else@example.com")
    mailbox.messages()
    with in_app():
        assert sorted(db.session.scalars(db.select(User.email))) == ["alice@example.com", "someone.else@example.com"]
        assert delete_abandoned_registrations(now=utcnow() + dt.timedelta(days=8)) == 1
        db.session.commit()
        assert list(db.session.scalars(db.select(User.email))) == ["alice@example.com"]


def test_administrator_verifying_a_pending_registration_does_not_make_the_registrants_password_live(
        realm, browser, mailbox, in_app):
    """The owner says they never got the mail; the help desk marks the address verified (the
    CLI, the API and the console all go through ``update_user``). The password a stranger
    registered with must not then open the owner's account."""
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import find_user_by_email, update_user

    _registering(browser, realm, "bob@example.com", OTHER_PASSWORD)
    mailbox.messages()
    with in_app():
        user = find_user_by_email(get_realm("acme"), "bob@example.com")
        assert user.registration_pending
        update_user(user, email_verified=True)
        db.session.commit()
        assert not user.registration_pending and user.password_hash is None

    assert not _logs_in(browser, realm, "bob@example.com", OTHER_PASSWORD)


def test_a_compatibility_spelling_of_an_address_cannot_catch_its_owners_mail(realm, browser, mailbox):
    """A squatter registers the fullwidth spelling of the owner's address: it is stored, and
    mailed, as the address it stands for."""
    _registering(browser, realm, "ｖｉｃｔｉｍ@example.com", OTHER_PASSWORD)
    assert mailbox.subjects("victim@example.com") == ["Verify your email address for Acme"]

    _registering(browser, realm, "victim@example.com")

    assert mailbox.messages("ｖｉｃｔｉｍ@example.com") == []
