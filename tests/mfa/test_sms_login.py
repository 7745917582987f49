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
    user_factory(admin_phone=PHONE, with_recovery_codes=True)
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

        from idp.mfa.sms import phone_verified

        assert phone_verified(db.session.get(User, user.id))


def test_mfa_page_refuses_a_browser_that_did_not_start_the_login(realm_factory, user_factory, browser):
    realm = realm_factory()
    user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize()
    login.log_in()
    stranger = browser(realm)
    stranger.get(mfa_url(login, "/sms"))
    assert stranger.response.status_code == 400
    assert "started in another browser" in stranger.page


def test_mfa_login_leaves_an_audit_trail_with_who_where_and_what(realm_factory, user_factory, browser, sms_code,
                                                                 in_app):
    realm = realm_factory()
    user = user_factory(phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.http.environ_base.update(REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Phone Browser/1.0")
    login.authorize()
    login.log_in()
    right = sms_code()
    login.submit({"code": "000000" if right != "000000" else "111111"})
    login.submit({"code": right})
    assert login.redirected_to_app

    from idp.extensions import db
    from idp.models import AuditEvent

    with in_app():
        events = list(db.session.scalars(db.select(AuditEvent).filter(AuditEvent.ip_address.is_not(None))
                                         .order_by(AuditEvent.id)))
        kinds = [e.event_type for e in events]
        assert kinds == ["login.password_ok", "mfa.challenge_sent", "mfa.failed", "mfa.succeeded", "login.mfa_ok",
                         "login.succeeded"]
        assert {(e.user_id, e.ip_address, e.user_agent) for e in events} == {
            (user.id, "198.51.100.7", "Phone Browser/1.0")}
        assert events[1].details == {"factor": "sms", "phone": MASKED_PHONE}
        assert events[-1].details["amr"] == ["pwd", "mfa", "sms"]


def test_user_whose_factor_was_switched_off_mid_login_is_offered_the_other_one(realm_factory, user_factory, browser,
                                                                               in_app):
    realm = realm_factory(totp_enabled=True)
    user = user_factory(phone=PHONE, with_totp=True, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.get(link(login.page, "Use another method"))
    login.get(link(login.page, "Text me a code"))
    assert "Enter the code we sent to" in login.page
    with in_app():
        from idp.services.realms import get_realm, update_realm

        update_realm(get_realm("acme"), sms_enabled=False)
        from idp.extensions import db

        db.session.commit()

    response = login.http.get(mfa_url(login))
    for _ in range(5):
        if response.status_code not in (302, 303):
            break
        response = login.http.get(response.location)
    assert response.status_code == 200, "no redirect loop"
    login.page, login.page_url = response.get_data(as_text=True), response.request.path
    assert "Enter the code from your authenticator app" in login.page
    login.submit({"code": user.totp_code()}, url=mfa_url(login, "/totp"))
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "otp"]
