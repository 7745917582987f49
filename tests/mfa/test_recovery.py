"""Recovery codes (roq-mfa.txt "Recovery codes"): single use, offered on every MFA page, and the
page after using one tells how many are left."""
import pytest

from .conftest import PHONE, link, logged_in_claims, text_of


@pytest.fixture
def user_with_codes(realm_factory, user_factory):
    realm = realm_factory(totp_enabled=True)
    return realm, user_factory(phone=PHONE, with_recovery_codes=True)


def _recovery_page(browser, realm):
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.get(link(login.page, "Use a recovery code"))
    return login


def test_user_without_their_phone_logs_in_with_a_recovery_code_and_sees_how_many_remain(user_with_codes, browser):
    realm, user = user_with_codes
    login = _recovery_page(browser, realm)
    assert ">Recovery code</label>" in login.page
    login.submit({"code": user.recovery_codes[0]})
    assert "Recovery code accepted" in login.page
    assert "You have 9 recovery codes left." in text_of(login.page)
    login.get(link(login.page, "Continue"))
    claims = logged_in_claims(login)
    assert claims["amr"] == ["pwd", "mfa"], "no RFC 8176 value names a recovery code"
    assert claims["acr"] == "urn:idp:acr:mfa"


def test_recovery_code_is_accepted_in_capitals_and_without_the_hyphen(user_with_codes, browser):
    realm, user = user_with_codes
    login = _recovery_page(browser, realm)
    login.submit({"code": user.recovery_codes[1].upper().replace("-", " ")})
    assert "Recovery code accepted" in login.page


def test_used_recovery_code_does_not_work_again(user_with_codes, browser):
    realm, user = user_with_codes
    first = _recovery_page(browser, realm)
    first.submit({"code": user.recovery_codes[0]})
    second = _recovery_page(browser, realm)
    second.submit({"code": user.recovery_codes[0]})
    assert second.response.status_code == 400
    assert "That recovery code is not valid or was already used." in text_of(second.page)


def test_last_recovery_codes_prompt_the_user_to_make_new_ones(realm_factory, user_factory, browser, in_app):
    realm = realm_factory()
    user = user_factory(phone=PHONE, with_recovery_codes=True)
    from idp.mfa.base import Challenge
    from idp.mfa.registry import get_factor
    from idp.models import User

    with in_app():
        from idp.extensions import db

        row = db.session.get(User, user.id)
        for code in user.recovery_codes[:8]:
            assert get_factor("recovery").verify(Challenge(row.realm, row, "test"), {"code": code})
    login = _recovery_page(browser, realm)
    login.submit({"code": user.recovery_codes[8]})
    words = text_of(login.page)
    assert "You have 1 recovery code left." in words
    assert "Make a new set from your account page soon." in words


def test_another_users_recovery_code_is_refused(realm_factory, user_factory, browser):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    bob = user_factory("bob@example.com", phone="+14155550111", with_recovery_codes=True)
    login = _recovery_page(browser, realm)
    login.submit({"code": bob.recovery_codes[0]})
    assert login.response.status_code == 400
    assert not login.redirected_to_app
