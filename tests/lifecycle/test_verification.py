"""Email verification: the mail after registration, the link that makes ``email_verified`` true,
and realms that require a verified address before the first token."""
import re

import pytest

from ..flows import id_token_claims
from ..helpers import PASSWORD
from ..mfa.conftest import link, logged_in_claims, text_of

NEW_USER = "nina@example.com"


def register(login, email=NEW_USER):
    """Register on the hosted page: it ends on "Check your inbox" (``test_registration``)."""
    login.authorize()
    login.register(email, PASSWORD, "Nina")


def verify(login, url, **form):
    """Open a verification link and press its button, as the user does (a registration's link
    opened in another browser also asks for the password chosen then)."""
    login.get(url)
    assert "Verify your email address" in login.page
    login.submit(form)


def log_in_unverified(browser, realm):
    """alice, whose address is not verified, logs in to a realm that requires it."""
    login = browser(realm)
    login.authorize()
    login.log_in()
    return login


def test_new_user_gets_a_verification_mail_and_the_link_makes_email_verified_true_in_the_id_token(
        realm_factory, browser, mailbox):
    realm = realm_factory(mfa_enabled=False)
    login = browser(realm)
    register(login)
    assert not login.redirected_to_app, "no token before the address is verified"

    mail = mailbox.last(NEW_USER, about="Verify your email address")
    assert mail["subject"] == "Verify your email address for Acme"
    assert "24 hours" in mail["text"] and "<html" in mail["html"]
    verify(login, mailbox.link(NEW_USER, about="Verify"))
    assert logged_in_claims(login)["email_verified"] is True

    again = browser(realm)
    again.authorize()
    again.log_in(NEW_USER)
    assert logged_in_claims(again)["email_verified"] is True


def test_opening_the_link_shows_a_button_first_so_mail_scanners_do_not_use_it_up(realm_factory, browser, mailbox,
                                                                                  in_app):
    realm = realm_factory(mfa_enabled=False)
    register(browser(realm))
    url = mailbox.link(NEW_USER, about="Verify")
    scanner = browser(realm)
    scanner.get(url)
    scanner.get(url)
    assert "Verify email address" in scanner.page
    reader = browser(realm)
    verify(reader, url, password=PASSWORD)
    assert "Email address verified" in text_of(reader.page)


def test_realm_requiring_verification_holds_the_login_at_check_your_inbox_until_the_link_is_opened(
        realm_factory, user_factory, browser, mailbox):
    realm = realm_factory(mfa_enabled=False, require_email_verification=True)
    user_factory()
    login = log_in_unverified(browser, realm)
    assert not login.redirected_to_app, "no token before the address is verified"
    assert "Check your inbox" in login.page
    assert "We sent a link to a•••@example.com" in text_of(login.page)

    login.get(link(login.page, "Continue"))
    assert "Check your inbox" in login.page, "continuing without the link changes nothing"

    verify(login, mailbox.link("alice@example.com", about="Verify"))
    assert login.redirected_to_app, "the link opened in this browser continues the login"
    assert logged_in_claims(login)["email_verified"] is True


def test_link_opened_on_another_device_verifies_and_the_waiting_login_continues(realm_factory, user_factory,
                                                                                browser, mailbox):
    realm = realm_factory(mfa_enabled=False, require_email_verification=True)
    user_factory()
    login = log_in_unverified(browser, realm)
    phone = browser(realm)
    verify(phone, mailbox.link("alice@example.com", about="Verify"))
    assert "Email address verified" in text_of(phone.page)
    assert not phone.redirected_to_app, "the other device is not logged in by the link"

    login.get(link(login.page, "Continue"))
    assert logged_in_claims(login)["email_verified"] is True


def test_existing_unverified_user_is_sent_a_link_when_the_realm_starts_requiring_one(realm_factory, user_factory,
                                                                                    browser, mailbox):
    realm = realm_factory(mfa_enabled=False, require_email_verification=True)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Check your inbox" in login.page
    assert mailbox.subjects("alice@example.com") == ["Verify your email address for Acme"]
    login.get(link(login.page, "Continue"))
    assert len(mailbox.messages("alice@example.com")) == 1, "reloading the page does not send another mail"


def test_verified_user_of_a_realm_requiring_verification_logs_in_as_before(realm_factory, browser, in_app):
    from ..helpers import Factory

    realm = realm_factory(mfa_enabled=False, require_email_verification=True)
    with in_app() as app:
        Factory(app).user(Factory(app).realm("acme"), email_verified=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert logged_in_claims(login)["email_verified"] is True


def test_verification_comes_after_the_second_factor(realm_factory, user_factory, browser, sms_code):
    realm = realm_factory(require_email_verification=True)
    user_factory(phone="+14155550100", with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Enter the code we sent" in text_of(login.page)
    login.submit({"code": sms_code()})
    assert "Check your inbox" in login.page


def test_resend_verification_email_waits_for_its_cool_down(realm_factory, user_factory, browser, mailbox,
                                                           age_links):
    realm = realm_factory(mfa_enabled=False, require_email_verification=True)
    user_factory()
    login = log_in_unverified(browser, realm)
    assert "Resend verification email" in login.page
    shown = int(re.search(r'data-countdown="(\d+)"', login.page).group(1))
    assert 45 <= shown <= 60, "what is left of the 60-second cool-down (a slow machine may eat a few seconds)"

    login.submit({})
    assert login.response.status_code == 429
    assert "before asking for another email" in text_of(login.page)
    assert len(mailbox.messages("alice@example.com")) == 1

    age_links(61)
    login.submit({})
    assert login.response.status_code == 200
    assert "We sent a new link to a•••@example.com." in text_of(login.page)
    assert len(mailbox.messages("alice@example.com")) == 2
    verify(login, mailbox.link("alice@example.com", about="Verify"))
    assert login.redirected_to_app


def _registered_link(realm_factory, browser, mailbox):
    realm = realm_factory(mfa_enabled=False)
    register(browser(realm))
    return realm, mailbox.link(NEW_USER, about="Verify")


def test_verification_link_works_once(realm_factory, browser, mailbox):
    realm, url = _registered_link(realm_factory, browser, mailbox)
    verify(browser(realm), url, password=PASSWORD)
    second = browser(realm)
    second.get(url)
    assert second.response.status_code == 400
    assert "This link was already used" in text_of(second.page)


def test_verification_link_expires_after_24_hours(realm_factory, browser, mailbox, age_links, in_app):
    realm, url = _registered_link(realm_factory, browser, mailbox)
    age_links(24 * 3600 + 1)
    late = browser(realm)
    late.get(url)
    assert late.response.status_code == 400
    assert "This link has expired" in text_of(late.page)
    from idp.extensions import db
    from idp.models import User

    with in_app():
        assert db.session.scalar(db.select(User.email_verified).filter_by(email=NEW_USER)) is False


@pytest.mark.parametrize("tamper, message", [
    (lambda url: url.replace("/realms/acme/", "/realms/other/"), "This link is not valid"),
    (lambda url: url.replace("/verify-email/", "/reset-password/"), "This link is not valid"),
    (lambda url: url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB"), "This link is not valid"),
])
def test_verification_link_is_only_valid_for_its_realm_and_purpose(realm_factory, browser, mailbox, tamper,
                                                                    message):
    realm, url = _registered_link(realm_factory, browser, mailbox)
    realm_factory("other", mfa_enabled=False)
    other = browser(realm)
    other.get(tamper(url))
    assert other.response.status_code == 400
    assert message in text_of(other.page)


def test_verification_link_for_an_old_address_does_not_verify_the_new_one(realm_factory, browser, mailbox, in_app):
    from idp.extensions import db
    from idp.models import User
    from idp.services.users import update_user

    realm, url = _registered_link(realm_factory, browser, mailbox)
    with in_app():
        user = db.session.scalar(db.select(User).filter_by(email=NEW_USER))
        update_user(user, email="nina.new@example.com")
        db.session.commit()
    late = browser(realm)
    late.get(url)
    assert late.response.status_code == 400
    assert "no longer valid for this account" in text_of(late.page)


def test_one_users_link_verifies_that_user_and_not_the_one_logged_in(realm_factory, user_factory, browser, mailbox,
                                                                      in_app):
    from idp.extensions import db
    from idp.models import User

    realm, url = _registered_link(realm_factory, browser, mailbox)
    user_factory("bob@example.com")
    bob = browser(realm)
    bob.authorize()
    bob.log_in("bob@example.com")
    assert id_token_claims(bob.exchange_code())["email_verified"] is False
    verify(bob, url, password=PASSWORD)
    with in_app():
        verified = dict(db.session.execute(db.select(User.email, User.email_verified)).all())
    assert verified == {NEW_USER: True, "bob@example.com": False}
