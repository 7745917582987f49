"""Enrolling during login: roq-mfa.txt "MFA for new users" (phone -> code -> recovery codes), the
"Change phone number" link for a number typed in this login, an administrator's phone that
cannot be swapped, and the choice between SMS and an authenticator app."""
import re

import pytest

from .conftest import PHONE, link, logged_in_claims, mfa_url, page_secret, phone_record, text_of

NEW_USER = {"email": "new@example.com", "password": "a long enough password", "name": "New Person"}


def _user_row(in_app, email):
    from idp.extensions import db
    from idp.models import User

    with in_app():
        user = db.session.scalar(db.select(User).filter_by(email=email))
        db.session.expunge(user)
        return user


def test_new_user_registers_enrols_a_phone_saves_recovery_codes_and_reaches_the_app(realm_factory, browser, sms_code,
                                                                                   in_app, mailbox):
    realm = realm_factory(mfa_registration_form=True)
    login = browser(realm)
    login.authorize()
    login.register_and_confirm(mailbox, NEW_USER["email"], NEW_USER["password"], NEW_USER["name"])

    assert "Enter your phone number" in login.page
    assert re.search(r'<label for="phone">Phone number</label>', login.page)
    login.submit({"phone": "+1 (415) 555-0123"})
    assert "Enter the code we sent to +1 •••• ••0123" in text_of(login.page)
    login.submit({"code": sms_code("+14155550123")})

    assert "Save your recovery codes" in login.page
    shown = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", login.page)
    assert len(shown) == len(set(shown)) == 10
    assert "Copy" in text_of(login.page)
    download = login.http.get(link(login.page, "Download"))
    assert download.status_code == 200
    assert download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"] == 'attachment; filename="acme-recovery-codes.txt"'
    assert re.findall(r"^[a-z0-9]{5}-[a-z0-9]{5}$", download.get_data(as_text=True), re.M) == shown

    login.submit({})
    assert login.response.status_code == 400, "continuing needs the 'I have saved these codes' box"
    assert not login.redirected_to_app
    login.submit({"saved": "y"})
    claims = logged_in_claims(login)
    assert claims["amr"] == ["pwd", "mfa", "sms"]
    user = _user_row(in_app, NEW_USER["email"])
    assert (*phone_record(in_app, NEW_USER["email"]), user.mfa_enabled) == ("+14155550123", True, True)


def test_recovery_codes_download_is_gone_once_the_user_confirmed(realm_factory, browser, sms_code, mailbox):
    realm = realm_factory(mfa_registration_form=True)
    login = browser(realm)
    login.authorize()
    login.register_and_confirm(mailbox, NEW_USER["email"], NEW_USER["password"], NEW_USER["name"])
    login.submit({"phone": "+14155550123"})
    login.submit({"code": sms_code()})
    download_url = link(login.page, "Download")
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", login.page)
    login.submit({"saved": "y"})
    assert login.redirected_to_app
    again = login.http.get(download_url)
    assert again.status_code == 400
    assert "Start again from the application" in text_of(again.get_data(as_text=True))
    assert not any(code in again.get_data(as_text=True) for code in codes)


def test_user_who_typed_a_wrong_number_corrects_it_with_change_phone_number(realm_factory, user_factory, browser,
                                                                           sms_code, age_sms, in_app):
    realm = realm_factory(mfa_required=True)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.submit({"phone": "+14155550999"})
    wrong_number_code = sms_code("+14155550999")
    assert "Enter the code we sent to +1 •••• ••0999" in text_of(login.page)

    login.get(link(login.page, "Change phone number"))
    assert "Enter your phone number" in login.page
    assert 'value="+14155550999"' in login.page, "the number typed is there to correct"

    login.submit({"phone": "+14155550123"})
    assert "Enter the code we sent to +1 •••• ••0123" in text_of(login.page), "a corrected number is texted at once"
    login.get(link(login.page, "Change phone number"))
    login.submit({"phone": "+14155550123"})
    assert login.response.status_code == 400
    assert re.search(r"Wait \d+ seconds? before requesting another code", login.page), "same number: cool-down"
    age_sms(30)
    login.submit({"phone": "+14155550123"})
    assert "Enter the code we sent to +1 •••• ••0123" in text_of(login.page)

    login.submit({"code": wrong_number_code})
    assert login.response.status_code == 400, "the code sent to the wrong number no longer counts"
    login.submit({"code": sms_code("+14155550123")})
    login.submit({"saved": "y"})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]
    assert phone_record(in_app, "alice@example.com") == ("+14155550123", True)


def test_phone_set_by_an_administrator_cannot_be_swapped_during_login(realm_factory, user_factory, browser, in_app):
    realm = realm_factory()
    user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize()
    login.log_in()
    words = text_of(login.page)
    assert "Change phone number" not in words
    assert "This number was set by your administrator. Contact them to change it." in words

    attempt = browser(realm)
    attempt.http = login.http
    attempt.get(mfa_url(login, "/sms/setup"))
    assert attempt.response.status_code == 403
    assert "Contact them to change it" in attempt.page
    assert phone_record(in_app, "alice@example.com")[0] == PHONE


def test_enrolment_with_both_factors_on_lets_the_user_choose(realm_factory, user_factory, browser):
    realm = realm_factory(mfa_required=True, totp_enabled=True)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    words = text_of(login.page)
    assert "Text me a code" in words and "Use an authenticator app" in words
    login.get(link(login.page, "Text me a code"))
    assert "Enter your phone number" in login.page
    login.get(link(login.page, "Use another method"))
    login.get(link(login.page, "Use an authenticator app"))
    assert "Set up authenticator app" in login.page


def test_user_who_chooses_the_authenticator_app_enrols_it_during_login(realm_factory, user_factory, browser, in_app):
    import pyotp

    realm = realm_factory(mfa_required=True, totp_enabled=True)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.get(link(login.page, "Use an authenticator app"))
    secret = page_secret(login.page)
    login.submit({"name": "Work phone", "code": pyotp.TOTP(secret).now()})
    login.submit({"saved": "y"})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "otp"]
    with in_app():
        from idp.extensions import db
        from idp.models import Authenticator

        device = db.session.scalar(db.select(Authenticator))
        assert (device.name, device.state) == ("Work phone", "active")


def test_totp_only_realm_sends_enrolling_users_straight_to_the_authenticator_setup(realm_factory, user_factory,
                                                                                   browser):
    import pyotp

    realm = realm_factory(integration=False, mfa_required=True, totp_enabled=True)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Set up authenticator app" in login.page
    assert "Text me a code" not in login.page
    login.submit({"name": "", "code": pyotp.TOTP(page_secret(login.page)).now()})
    assert "Save your recovery codes" in login.page
    login.submit({"saved": "y"})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "otp"]


@pytest.mark.parametrize("typed, message", [
    ("", "Enter your phone number."),
    ("415 555 0100", "Include your country code, starting with +"),
    ("+1 415", "That phone number is not valid."),
    ("+1 call me maybe", "That does not look like a phone number."),
    ("+1 900 234 5678", "We can only send codes to mobile phone numbers."),
    ("+44 90 1234 5678", "We can only send codes to mobile phone numbers."),
    ("+44 7400 123456", "We cannot send codes to phone numbers in that country."),
])
def test_phone_numbers_that_cannot_receive_codes_are_refused_in_words(realm_factory, user_factory, browser,
                                                                      instance_path, typed, message):
    from ..helpers import outbox_messages

    realm = realm_factory(mfa_required=True, sms_allowed_countries=["US", "CA"])
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.submit({"phone": typed})
    assert login.response.status_code == 400
    assert message in text_of(login.page)
    assert outbox_messages(instance_path) == []


def test_allowed_country_list_accepts_its_countries(realm_factory, user_factory, browser, sms_code):
    realm = realm_factory(mfa_required=True, sms_allowed_countries=["GB"])
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.submit({"phone": "+44 7400 123456"})
    assert sms_code("+447400123456")


def test_totp_only_enrolment_page_has_no_broken_links(realm_factory, user_factory, browser):
    realm = realm_factory(integration=False, mfa_required=True, totp_enabled=True)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Set up authenticator app" in login.page
    assert 'href="None"' not in login.page


def test_a_new_user_setting_up_a_factor_is_not_told_to_pick_one_they_set_up(realm_factory, user_factory, browser):
    """Issue 15: enrolment has its own words, and no recovery code is offered before any exists."""
    realm = realm_factory(mfa_required=True, totp_enabled=True)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    words = text_of(login.page)
    assert "Set up two-factor authentication" in words
    assert "Choose how you want to confirm it's you each time you log in." in words
    assert "Choose how to verify" not in words and "Pick one of the ways you set up" not in words
    assert "Use a recovery code" not in words
    login.get(link(login.page, "Text me a code"))
    assert "Use a recovery code" not in text_of(login.page)
    login.get(mfa_url(login, "/recovery"))
    assert "Use a recovery code" not in text_of(login.page), "no recovery page without recovery codes"


def test_recovery_code_link_is_offered_only_to_users_who_hold_codes(realm_factory, user_factory, browser):
    realm = realm_factory()
    user_factory("without@example.com", admin_phone=PHONE)
    user_factory("with@example.com", admin_phone="+14155550111", with_recovery_codes=True)
    without = browser(realm)
    without.authorize()
    without.log_in("without@example.com")
    assert "Enter the code we sent to" in text_of(without.page)
    assert "Use a recovery code" not in text_of(without.page)
    holder = browser(realm)
    holder.authorize()
    holder.log_in("with@example.com")
    assert "Use a recovery code" in text_of(holder.page)
