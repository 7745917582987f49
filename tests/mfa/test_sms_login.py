"""roq-mfa.txt "MFA for existing users": an administrator enabled MFA and set the phone; at the
next login the user gets a text message, enters the code, saves recovery codes once."""
from ..helpers import outbox_messages
from .conftest import MASKED_PHONE, PHONE, link, logged_in_claims, mfa_url, text_of


def test_existing_user_with_mfa_gets_sms_code_then_recovery_codes(realm_factory, user_factory, browser,
                                                                  instance_path, sms_code):
    realm = realm_factory()
    user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert f"Enter the code we sent to {MASKED_PHONE}" in login.page
    sent = outbox_messages(instance_path)
    assert [m["to"] for m in sent] == [PHONE]
    assert "Acme verification code" in sent[0]["body"]
    login.submit({"code": sms_code()})
    assert "Save your recovery codes" in login.page
    assert "I have saved these codes" in login.page
    login.submit({"saved": "y"})
    claims = logged_in_claims(login)
    assert claims["amr"] == ["pwd", "mfa", "sms"]
    assert claims["acr"] == "urn:idp:acr:mfa"


def test_code_page_hides_the_number_and_offers_resend_and_recovery(realm_factory, user_factory, browser):
    realm = realm_factory()
    user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize()
    login.log_in()
    words = text_of(login.page)
    assert MASKED_PHONE in words
    assert PHONE not in login.page and "5550100" not in login.page
    assert "Resend code" in words
    assert "Use a recovery code" in words
    assert 'name="code"' in login.page and ">Code</label>" in login.page
    assert "Use another method" not in words, "only one factor: nothing else to offer"


def test_code_page_offers_the_authenticator_app_to_a_user_who_has_both(realm_factory, user_factory, browser):
    realm = realm_factory(totp_enabled=True)
    user = user_factory(phone=PHONE, with_totp=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Enter the code from your authenticator app" in login.page
    login.get(link(login.page, "Use another method"))
    assert "Text me a code" in login.page
    login.get(link(login.page, "Text me a code"))
    assert f"Enter the code we sent to {MASKED_PHONE}" in text_of(login.page)
    login.get(link(login.page, "Use another method"))
    login.get(link(login.page, "Use an authenticator app"))
    login.submit({"code": user.totp_code()})
    login.submit({"saved": "y"})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "otp"]


def test_returning_user_with_verified_phone_and_saved_codes_goes_straight_back_to_the_app(
        realm_factory, user_factory, browser, sms_code):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.submit({"code": sms_code()})
    assert login.redirected_to_app, "recovery codes are shown once, not at every login"
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]


def test_wrong_code_says_so_and_the_right_one_still_works(realm_factory, user_factory, browser, sms_code):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    right = sms_code()
    wrong = "000000" if right != "000000" else "111111"
    login.submit({"code": wrong})
    assert login.response.status_code == 400
    assert "That code is not right" in login.page
    login.submit({"code": f" {right[:3]} {right[3:]} "})
    assert login.redirected_to_app


def test_admin_set_phone_is_verified_by_its_first_code(realm_factory, user_factory, browser, sms_code, in_app):
    realm = realm_factory()
    user = user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.submit({"code": sms_code()})
    with in_app():
        from idp.extensions import db
        from idp.models import User

        assert db.session.get(User, user.id).phone_verified


def test_mfa_page_refuses_a_browser_that_did_not_start_the_login(realm_factory, user_factory, browser):
    realm = realm_factory()
    user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize()
    login.log_in()
    stranger = browser(realm)
    stranger.get(mfa_url(login, "/code?factor=sms"))
    assert stranger.response.status_code == 400
    assert "started in another browser" in stranger.page
