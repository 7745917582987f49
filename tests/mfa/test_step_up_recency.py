"""Changes to how an account logs in need a *recent* proof: our own second factor verified in
this session within ``mfa.step_up_window`` (10 minutes), or, for a user with no factor we can
challenge, a login that recent. A session that only ever passed a second factor long ago, a
remembered device, an upstream that did its own MFA or a login form without MFA are not enough.
What the account page keeps between two steps lives with the session on the server."""
from __future__ import annotations

import re

import pytest

from .conftest import PHONE, link, text_of
from .test_account import ACCOUNT, _open_account, post


def _age_sessions(in_app, seconds: int):
    """Every browser session's login and second factor happened ``seconds`` earlier."""
    from idp.extensions import db
    from idp.models import BrowserSession

    with in_app():
        for row in db.session.scalars(db.select(BrowserSession)):
            row.auth_time -= seconds
            if row.mfa_at:
                row.mfa_at -= seconds
        db.session.commit()


def test_session_that_passed_mfa_long_ago_cannot_regenerate_recovery_codes(realm_factory, user_factory, browser,
                                                                           in_app, sms_code):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _open_account(browser, realm)
    login.submit({"code": sms_code(PHONE)})
    assert "Your account" in login.page
    _age_sessions(in_app, 13 * 86400)

    post(login, f"{ACCOUNT}/recovery-codes", {}, prefix="regen")

    assert "Enter the code we sent to" in text_of(login.page), "a fresh code first"
    assert "Save your recovery codes" not in login.page


@pytest.mark.parametrize("seconds, asks_again", [(9 * 60, False), (11 * 60, True)])
def test_second_factor_counts_for_ten_minutes(realm_factory, user_factory, browser, in_app, sms_code, seconds,
                                             asks_again):
    realm = realm_factory(totp_enabled=True)
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _open_account(browser, realm)
    login.submit({"code": sms_code(PHONE)})
    _age_sessions(in_app, seconds)

    login.get(f"{ACCOUNT}/factors/totp/setup")

    assert ("Enter the code we sent to" in text_of(login.page)) is asks_again
    assert ("Set up authenticator app" in login.page) is not asks_again


def test_adding_a_phone_needs_a_second_factor_when_the_user_has_another_one(realm_factory, user_factory, browser,
                                                                           in_app):
    """The reviewer's case: a user with an authenticator app but no phone, on a session that
    did not pass MFA (the realm's login form does not ask), adds an attacker's phone."""
    realm = realm_factory(totp_enabled=True, mfa_login_form=False)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    login = _open_account(browser, realm)
    assert "Your account" in login.page

    login.get(f"{ACCOUNT}/factors/sms/setup")

    assert "Enter the code from your authenticator app" in login.page
    login.submit({"code": user.totp_code()})
    assert "Enter your phone number" in login.page


def test_remembered_device_session_must_enter_a_code_before_changing_factors(realm_factory, user_factory, browser,
                                                                             in_app, sms_code):
    realm = realm_factory(remember_device_days=30, totp_enabled=True)
    user_factory(phone=PHONE, with_recovery_codes=True)
    first = _open_account(browser, realm)
    first.submit({"code": sms_code(PHONE), "remember_device": "y"})
    first.http.delete_cookie("idp_session", path="/realms/acme/")
    first.get(ACCOUNT)
    first.log_in()
    assert "Your account" in first.page, "the remembered device skipped the code"

    first.get(f"{ACCOUNT}/factors/totp/setup")

    assert "Enter the code we sent to" in text_of(first.page)


def test_user_without_a_factor_must_have_logged_in_recently_to_add_one(realm_factory, user_factory, browser, in_app):
    realm = realm_factory()
    user_factory()
    login = _open_account(browser, realm)
    _age_sessions(in_app, 11 * 60)

    login.get(f"{ACCOUNT}/factors/sms/setup")

    assert "Log in" in login.page and 'value="alice@example.com"' in login.page, "the password again"
    login.log_in()
    assert "Enter your phone number" in login.page


def _pending_of_sessions(in_app) -> list:
    from idp.extensions import db
    from idp.models import BrowserSession

    with in_app():
        return [row.pending for row in db.session.scalars(db.select(BrowserSession).order_by(BrowserSession.id))]


def test_recovery_codes_shown_once_are_gone_for_the_next_person_on_the_browser(realm_factory, user_factory, browser,
                                                                               in_app, sms_code):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    user_factory("bob@example.com")
    login = _open_account(browser, realm)
    login.submit({"code": sms_code(PHONE)})
    post(login, f"{ACCOUNT}/recovery-codes", {}, prefix="regen")
    assert "Save your recovery codes" in login.page
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", login.page)
    cookie = login.http.get_cookie("idp_csrf")
    assert cookie is None or not any(code in cookie.value for code in codes)

    login.get("/realms/acme/logout")
    login.submit({})
    assert _pending_of_sessions(in_app)[-1] is None, "logout ends what the session held"
    login.get(ACCOUNT)
    login.log_in("bob@example.com")
    download = login.http.get(f"{ACCOUNT}/recovery-codes.txt")
    new_page = login.http.get(f"{ACCOUNT}/recovery-codes/new")

    assert download.status_code == 404
    assert new_page.status_code == 302 and not any(code in new_page.get_data(as_text=True) for code in codes)


def test_pending_phone_of_one_session_is_not_another_sessions(realm_factory, user_factory, browser, in_app, sms_code):
    realm = realm_factory()
    user_factory()
    first = _open_account(browser, realm)
    first.get(link(first.page, "Add phone number"))
    first.submit({"phone": "+14155550123"})
    assert "Enter the code we sent to" in text_of(first.page)

    second = _open_account(browser, realm)
    second.get(f"{ACCOUNT}/factors/sms/setup")

    assert "Enter your phone number" in second.page, "the other browser's number is not offered here"
