"""Password reset: "Forgot password?" -> mail -> a single-use link valid 30 minutes -> a new
password under the registration policy -> every session and refresh token of the account ends.
The page answers the same for unknown addresses, and a reset never skips the second factor."""
import re
import threading

import pytest

from ..helpers import PASSWORD
from ..mfa.conftest import (
    MASKED_PHONE,
    PHONE,
    link,
    logged_in_claims,
    login_url,
    text_of,
)

NEW_PASSWORD = "a brand new passphrase"


def ask_for_reset(login, email="alice@example.com"):
    login.authorize()
    login.get(link(login.page, "Forgot password?"))
    assert "Reset your password" in login.page
    login.submit({"email": email})
    return login


def choose_password(login, url, password=NEW_PASSWORD):
    login.get(url)
    assert "Choose a new password" in login.page
    login.submit({"password": password})


def refresh(login, refresh_token):
    return login.http.post(f"/realms/{login.realm}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(login.client_id, login.client_secret))


def introspect(login, token):
    return login.http.post(f"/realms/{login.realm}/introspect", data={"token": token},
                           auth=(login.client_id, login.client_secret)).get_json()


def test_login_page_offers_forgot_password_with_the_email_form(realm_factory, browser):
    realm = realm_factory(mfa_enabled=False)
    login = browser(realm)
    login.authorize(login_hint="alice@example.com")
    login.get(link(login.page, "Forgot password?"))
    assert login.response.status_code == 200
    assert 'value="alice@example.com"' in login.page, "the login hint carries over"
    login.get(link(login.page, "Back to log in"))
    assert "Log in" in login.page


def _answer(login) -> str:
    """The page's words without what differs between any two requests (the CSRF token, the address typed)."""
    words = text_of(login.page)
    return re.sub(r"\S+@example\.com", "EMAIL", words)


def test_unknown_email_gets_the_same_page_and_no_mail(realm_factory, user_factory, browser, mailbox, audit_events):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    known = ask_for_reset(browser(realm), "alice@example.com")
    unknown = ask_for_reset(browser(realm), "nobody@example.com")
    assert (known.response.status_code, unknown.response.status_code) == (200, 200)
    assert _answer(known) == _answer(unknown)
    assert "Check your email" in known.page
    assert mailbox.subjects() == ["Reset your Acme password"]
    assert [e["email"] for e in audit_events("password_reset.unknown_email")] == ["nobody@example.com"]


@pytest.mark.parametrize("email", ["alice@example.com", "nobody@example.com"])
def test_reset_request_answers_before_looking_the_address_up(realm_factory, user_factory, browser, mailbox,
                                                             monkeypatch, email):
    """Same timing either way: the request never waits for the account lookup, the database
    write or the mail, which all run in the background."""
    from idp.lifecycle import reset

    realm = realm_factory(mfa_enabled=False)
    user_factory()
    release = threading.Event()
    original = reset.send_reset_link

    def held_back(*args, **kwargs):
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(reset, "send_reset_link", held_back)
    login = ask_for_reset(browser(realm), email)
    assert "Check your email" in login.page, "answered while the lookup is still held back"
    release.set()
    assert len(mailbox.messages()) == (1 if email == "alice@example.com" else 0)


def test_reset_in_the_same_browser_continues_the_login_and_still_asks_for_the_second_factor(
        realm_factory, user_factory, browser, mailbox, sms_code):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    earlier = browser(realm)
    earlier.authorize(scope="openid email offline_access")
    earlier.log_in()
    earlier.submit({"code": sms_code()})
    old_tokens = earlier.exchange_code()
    assert introspect(earlier, old_tokens["refresh_token"])["active"] is True

    login = ask_for_reset(browser(realm))
    url = mailbox.link("alice@example.com", about="Reset your")
    assert "30 minutes" in mailbox.last(about="Reset your")["text"]
    assert f"/login/{login_url(login).rsplit('/', 1)[1]}/reset-password/" in url
    choose_password(login, url)
    assert f"Enter the code we sent to {MASKED_PHONE}" in text_of(login.page), "a reset never bypasses MFA"
    login.submit({"code": sms_code()})
    claims = logged_in_claims(login)
    assert claims["amr"] == ["pwd", "mfa", "sms"]

    assert introspect(earlier, old_tokens["refresh_token"])["active"] is False
    rejected = refresh(earlier, old_tokens["refresh_token"])
    assert rejected.status_code == 400 and rejected.get_json()["error"] == "invalid_grant"
    account = earlier.http.get("/realms/acme/account")
    assert account.status_code == 302 and "/login/" in account.location, "the old browser session ended"

    again = browser(realm)
    again.authorize()
    again.log_in(password=PASSWORD)
    assert "Incorrect email or password." in text_of(again.page)


def test_reset_without_mfa_in_the_same_browser_goes_back_to_the_app(realm_factory, user_factory, browser, mailbox):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    login = ask_for_reset(browser(realm))
    choose_password(login, mailbox.link(about="Reset your"))
    assert logged_in_claims(login)["email_verified"] is True, "the mail reached the address"


def test_reset_in_another_browser_ends_on_a_password_changed_page(realm_factory, user_factory, browser, mailbox):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    asked = ask_for_reset(browser(realm))
    other = browser(realm)
    choose_password(other, mailbox.link(about="Reset your"))
    assert "Password changed" in other.page
    assert not other.redirected_to_app
    other.get(link(other.page, "Log in"))
    other.log_in(password=NEW_PASSWORD)
    assert "Your account" in other.page

    asked.get(link(asked.page, "Back to log in"))
    assert "Log in" in asked.page, "the login that asked is still at its password"


def test_a_reset_asked_from_someone_elses_browser_does_not_log_that_browser_in(realm_factory, user_factory, browser,
                                                                               mailbox):
    """Mallory types Alice's address in her own browser; Alice resets from the mail. Mallory's
    login stays where it was: only the browser that holds the link can continue a login."""
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    mallory = ask_for_reset(browser(realm))
    alice = browser(realm)
    url = mailbox.link(about="Reset your")
    choose_password(alice, url)
    assert "Password changed" in alice.page

    page_url = login_url(mallory)
    mallory.get(page_url)
    assert "Log in" in mallory.page and not mallory.redirected_to_app
    mallory.get(url)
    assert mallory.response.status_code == 400


@pytest.mark.parametrize("password, message", [
    ("short", "Password must be at least 8 characters."),
    ("password123", "This password is too common."),
    ("alice@example.com", "Password must not be your email address."),
])
def test_new_password_follows_the_registration_policy_and_the_link_stays_usable(
        realm_factory, user_factory, browser, mailbox, password, message):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    login = ask_for_reset(browser(realm))
    url = mailbox.link(about="Reset your")
    choose_password(login, url, password)
    assert login.response.status_code == 400
    assert message in text_of(login.page)
    login.submit({"password": NEW_PASSWORD})
    assert login.redirected_to_app


def test_reset_link_works_once(realm_factory, user_factory, browser, mailbox):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    ask_for_reset(browser(realm))
    url = mailbox.link(about="Reset your")
    choose_password(browser(realm), url)
    second = browser(realm)
    second.get(url)
    assert second.response.status_code == 400
    assert "This link was already used" in text_of(second.page)


def test_reset_link_expires_after_30_minutes(realm_factory, user_factory, browser, mailbox, age_links):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    ask_for_reset(browser(realm))
    url = mailbox.link(about="Reset your")
    age_links(29 * 60)
    browser(realm).get(url)
    age_links(60 + 1)
    late = browser(realm)
    late.get(url)
    assert late.response.status_code == 400
    assert "This link has expired" in text_of(late.page)


def test_newer_reset_link_replaces_the_older_one(realm_factory, user_factory, browser, mailbox, age_links):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    ask_for_reset(browser(realm))
    first = mailbox.link(about="Reset your")
    age_links(61)
    ask_for_reset(browser(realm))
    second = mailbox.link(about="Reset your")
    assert first != second
    old = browser(realm)
    old.get(first)
    assert old.response.status_code == 400
    choose_password(browser(realm), second)


def test_reset_mails_to_one_account_wait_a_minute(realm_factory, user_factory, browser, mailbox, audit_events):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    ask_for_reset(browser(realm))
    ask_for_reset(browser(realm))
    assert mailbox.subjects() == ["Reset your Acme password"]
    assert len(audit_events("password_reset.throttled")) == 1


def test_reset_link_changes_only_the_password_of_its_own_account(realm_factory, user_factory, browser, mailbox):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    user_factory("bob@example.com")
    ask_for_reset(browser(realm), "bob@example.com")
    choose_password(browser(realm), mailbox.link("bob@example.com", about="Reset your"))

    alice = browser(realm)
    alice.authorize()
    alice.log_in(password=PASSWORD)
    assert alice.redirected_to_app, "Alice's password is unchanged"
    bob = browser(realm)
    bob.authorize()
    bob.log_in("bob@example.com", NEW_PASSWORD)
    assert bob.redirected_to_app


def test_reset_link_in_a_login_that_is_now_someone_elses_finishes_on_its_own_page(
        realm_factory, user_factory, browser, mailbox):
    """A link continues only a login that is not yet anyone's, or is its own user's: here the
    login went on with Bob's password (and waits for his code) before Alice's link was opened."""
    realm = realm_factory()
    user_factory()
    user_factory("bob@example.com", phone=PHONE, with_recovery_codes=True)
    login = ask_for_reset(browser(realm))
    url = mailbox.link(about="Reset your")
    login.get(link(login.page, "Back to log in"))
    login.log_in("bob@example.com")
    assert "Enter the code we sent" in text_of(login.page)
    bobs_code_page = login.page_url

    choose_password(login, url)
    assert "Password changed" in login.page, "Alice's password changed, Bob's login did not move"
    login.get(bobs_code_page)
    assert "Enter the code we sent" in text_of(login.page)


def test_a_login_waiting_at_a_later_stage_cannot_finish_after_the_password_changes(realm_factory, user_factory,
                                                                                  browser, in_app):
    """The attacker got past the password stage with the old password and waits at consent; the
    owner (or an administrator) changes the password: that login is over."""
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.sign_out import change_password
    from idp.services.users import find_user_by_email

    realm = realm_factory("thirdparty", third_party=True, mfa_enabled=False)
    user_factory(realm="thirdparty")
    attacker = browser(realm)
    attacker.authorize()
    attacker.log_in()
    assert "Allow" in attacker.page

    with in_app():
        change_password(find_user_by_email(get_realm("thirdparty"), "alice@example.com"), "a brand new passphrase",
                        reason="admin")
        db.session.commit()
    attacker.submit({"decision": "allow"})

    assert not attacker.redirected_to_app
    assert attacker.response.status_code == 400


def test_a_login_waiting_at_consent_cannot_finish_once_the_account_is_disabled(realm_factory, user_factory,
                                                                               browser, in_app):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import find_user_by_email

    realm = realm_factory("thirdparty", third_party=True, mfa_enabled=False)
    user_factory(realm="thirdparty")
    login = browser(realm)
    login.authorize()
    login.log_in()
    with in_app():
        find_user_by_email(get_realm("thirdparty"), "alice@example.com").disabled = True
        db.session.commit()

    login.submit({"decision": "allow"})

    assert not login.redirected_to_app
    assert "This account is disabled." in login.page


def test_reset_mails_to_one_account_stop_at_ten_a_day(realm_factory, user_factory, browser, mailbox, age_links):
    """A stranger waiting out the one-minute cool-down again and again cannot flood the inbox."""
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    for _ in range(12):
        ask_for_reset(browser(realm))
        mailbox.messages()
        age_links(61)

    assert len([m for m in mailbox.messages("alice@example.com") if "Reset" in m["subject"]]) == 10
