"""Remember this device: after a second factor, a ticked box lets this browser skip the MFA step
for the realm's number of days; the account page lists and forgets devices; a fresh MFA asked
for by the app, a password change or a factor change brings the code back."""
import re

import pytest

from ..helpers import PASSWORD, csrf_token
from ..mfa.conftest import PHONE, logged_in_claims, text_of
from .conftest import drop_browser_session

ACCOUNT = "/realms/acme/account"
TOKEN_RE = re.compile(r'name="([^"]*csrf_token)"[^>]*value="([^"]+)"')


def enter_code(login, code, *, remember):
    """Submit the code page; returns the response that answered the form (its cookies)."""
    data = {"csrf_token": csrf_token(login.page), "code": code}
    if remember:
        data["remember_device"] = "y"
    response = login.http.post(login.page_url, data=data)
    login._follow(response)
    return response


def device_cookies(response) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("idp_device_")]


def log_in_again(login, **authorize):
    """The same browser, once its single-sign-on session has ended."""
    drop_browser_session(login)
    login.authorize(**authorize)
    if "Log in" in (login.page or "") and not login.redirected_to_app:
        login.log_in()
    return login


def post_form(login, url, prefix):
    token = next(value for name, value in TOKEN_RE.findall(login.page) if name == f"{prefix}-csrf_token")
    return login._follow(login.http.post(url, data={f"{prefix}-csrf_token": token}))


@pytest.fixture
def remembered(realm_factory, user_factory, browser, sms_code):
    """Alice logged in with a texted code and ticked "Remember this device for 30 days"."""
    realm = realm_factory(remember_device_days=30)
    user = user_factory(phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Remember this device for 30 days" in text_of(login.page)
    response = enter_code(login, sms_code(), remember=True)
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]
    login.cookie = device_cookies(response)
    return realm, user, login


def test_remembered_browser_logs_in_without_a_code_until_forgotten_on_the_account_page(remembered):
    _, _, login = remembered
    log_in_again(login)
    assert login.redirected_to_app, "no MFA step on the remembered browser"
    claims = logged_in_claims(login)
    assert claims["amr"] == ["pwd"], "amr does not claim a code was entered now"
    assert claims["acr"] == "urn:idp:acr:mfa"

    login.get(ACCOUNT)
    words = text_of(login.page)
    assert "Remembered devices" in words and "This browser" in words
    assert "IP at creation 127.0.0.1" in words and "Last used" in words and "Last used never" not in words
    forget_url = re.search(r'action="([^"]*/remembered-devices/(\d+)/forget)"', login.page)
    post_form(login, forget_url.group(1), f"f{forget_url.group(2)}")
    assert "Device forgotten." in text_of(login.page)
    assert "No remembered devices." in text_of(login.page)

    log_in_again(login)
    assert "Enter the code we sent" in text_of(login.page), "forgotten: the code is asked again"


def test_device_cookie_is_random_httponly_lax_and_scoped_to_the_realm(remembered, in_app):
    _, user, login = remembered
    [cookie] = login.cookie
    name, _, rest = cookie.partition("=")
    value = rest.split(";")[0]
    attributes = cookie.lower()
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/realms/acme/" in attributes
    assert "max-age=2592000" in attributes
    assert "secure" not in attributes, "plain http in this test; https below"
    assert user.id not in name and len(value) >= 40
    from idp.extensions import db
    from idp.models import RememberedDevice

    with in_app():
        stored = db.session.scalars(db.select(RememberedDevice.cookie_digest)).all()
    assert len(stored) == 1 and value not in stored[0], "only a digest is kept"


def test_device_cookie_is_secure_behind_an_https_public_url(make_app, instance_path):
    from flask import Response

    from idp.lifecycle.devices import remember_device

    from ..helpers import Factory

    app = make_app(public_url="https://idp.example")
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme", remember_device_days=7)
        user = factory.user(realm)
        with app.test_request_context("/", base_url="https://idp.example"):
            response = Response()
            remember_device(realm, user, response)
        [cookie] = device_cookies(response)
    assert "Secure" in cookie and "Max-Age=604800" in cookie


def test_box_is_not_offered_when_the_realm_does_not_remember_devices(realm_factory, user_factory, browser, sms_code,
                                                                     in_app):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Remember this device" not in login.page
    response = enter_code(login, sms_code(), remember=True)
    assert device_cookies(response) == [], "a forged tick does nothing"


def test_not_ticking_the_box_remembers_nothing(realm_factory, user_factory, browser, sms_code):
    realm = realm_factory(remember_device_days=30)
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert device_cookies(enter_code(login, sms_code(), remember=False)) == []
    log_in_again(login)
    assert "Enter the code we sent" in text_of(login.page)


@pytest.mark.parametrize("authorize", [
    {"prompt": "login"},
    {"acr_values": "urn:idp:acr:mfa", "max_age": "0"},
    {"acr_values": "mfa", "max_age": "3600"},
], ids=["prompt=login", "acr_values+max_age=0", "acr_values+max_age=3600"])
def test_app_asking_for_a_fresh_second_factor_gets_the_code_step_on_a_remembered_browser(remembered, sms_code,
                                                                                        authorize):
    _, _, login = remembered
    log_in_again(login, **authorize)
    assert "Enter the code we sent" in text_of(login.page)
    login.submit({"code": sms_code()})
    claims = logged_in_claims(login)
    assert (claims["amr"], claims["acr"]) == (["pwd", "mfa", "sms"], "urn:idp:acr:mfa")


def test_acr_values_for_mfa_without_max_age_is_satisfied_by_the_remembered_browser(remembered):
    _, _, login = remembered
    log_in_again(login, acr_values="urn:idp:acr:mfa")
    claims = logged_in_claims(login)
    assert (claims["amr"], claims["acr"]) == (["pwd"], "urn:idp:acr:mfa")


def test_account_page_still_asks_for_a_code_before_factor_changes(remembered, sms_code):
    _, _, login = remembered
    log_in_again(login)
    login.get(ACCOUNT)
    login.get(f"{ACCOUNT}/factors/sms/setup")
    assert "Enter the code we sent" in text_of(login.page), "step-up: the remembered device is not a code"


def test_remembered_device_expires(remembered, in_app):
    import datetime as dt

    from idp.extensions import db
    from idp.models import RememberedDevice

    _, _, login = remembered
    with in_app():
        for row in db.session.scalars(db.select(RememberedDevice)):
            row.created_at -= dt.timedelta(days=30, seconds=1)
            row.expires_at -= dt.timedelta(days=30, seconds=1)
        db.session.commit()
    log_in_again(login)
    assert "Enter the code we sent" in text_of(login.page)


def test_shortening_the_realms_period_shortens_existing_devices_and_zero_turns_them_off(remembered, in_app):
    import datetime as dt

    from idp.extensions import db
    from idp.models import RememberedDevice
    from idp.services.realms import get_realm, update_realm

    _, _, login = remembered
    with in_app():
        for row in db.session.scalars(db.select(RememberedDevice)):
            row.created_at -= dt.timedelta(days=8)
        update_realm(get_realm("acme"), remember_device_days=7)
        db.session.commit()
    log_in_again(login)
    assert "Enter the code we sent" in text_of(login.page)


def test_another_user_on_the_same_browser_is_still_asked_for_a_code(remembered, user_factory):
    _, _, login = remembered
    user_factory("bob@example.com", phone="+14155550123", with_recovery_codes=True)
    drop_browser_session(login)
    login.authorize()
    login.log_in("bob@example.com")
    assert "Enter the code we sent" in text_of(login.page)


def _change_password(user):
    from idp.services.users import set_password

    set_password(user, "another good passphrase")


def _add_authenticator(user):
    import pyotp

    from tests.helpers import activate_totp, begin_totp_enrolment

    device, secret = begin_totp_enrolment(user)
    assert activate_totp(user, device, pyotp.TOTP(secret).now())


def _change_phone(user):
    from idp.mfa.sms import admin_set_phone

    admin_set_phone(user, "+14155550199")


def _regenerate_recovery_codes(user):
    from tests.helpers import generate_recovery_codes

    generate_recovery_codes(user)


def _administrator_resets_factors(user):
    from idp.admin.operations import reset_factors

    reset_factors(user)


@pytest.mark.parametrize("change", [_change_password, _add_authenticator, _change_phone, _regenerate_recovery_codes,
                                    _administrator_resets_factors],
                         ids=["password", "authenticator added", "phone", "recovery codes", "factors reset"])
def test_changing_the_password_or_a_factor_forgets_every_remembered_device(remembered, in_app, change):
    from idp.extensions import db
    from idp.models import RememberedDevice, User

    _, user, login = remembered
    with in_app():
        change(db.session.get(User, user.id))
        db.session.commit()
        assert db.session.scalars(db.select(RememberedDevice)).all() == []
    drop_browser_session(login)
    login.authorize()
    login.log_in(password="another good passphrase" if change is _change_password else PASSWORD)
    assert not login.redirected_to_app and "/mfa/" in login.page_url, "the second factor is asked (or enrolled) again"


def test_forget_all_devices_from_the_account_page(remembered, browser, sms_code, in_app):
    from idp.extensions import db
    from idp.models import RememberedDevice

    realm, _, login = remembered
    laptop = browser(realm)
    laptop.authorize()
    laptop.log_in()
    enter_code(laptop, sms_code(), remember=True)
    with in_app():
        assert len(db.session.scalars(db.select(RememberedDevice)).all()) == 2

    login.get(ACCOUNT)
    assert text_of(login.page).count("Forget ") >= 2
    post_form(login, f"{ACCOUNT}/remembered-devices/forget", "forget-all")
    assert "All devices forgotten." in text_of(login.page)
    with in_app():
        assert db.session.scalars(db.select(RememberedDevice)).all() == []


def test_someone_elses_device_cannot_be_forgotten_from_your_account(remembered, user_factory, browser, sms_code,
                                                                     in_app):
    from idp.extensions import db
    from idp.models import RememberedDevice

    realm, _, alice = remembered
    user_factory("bob@example.com", phone="+14155550123", with_recovery_codes=True)
    bob = browser(realm)
    bob.authorize()
    bob.log_in("bob@example.com")
    enter_code(bob, sms_code("+14155550123"), remember=True)
    with in_app():
        bobs = db.session.scalar(db.select(RememberedDevice.id).join(RememberedDevice.user)
                                 .filter_by(email="bob@example.com"))
    alice.get(ACCOUNT)
    token = TOKEN_RE.search(alice.page).group(2)
    alice.http.post(f"{ACCOUNT}/remembered-devices/{bobs}/forget", data={f"f{bobs}-csrf_token": token})
    with in_app():
        assert db.session.get(RememberedDevice, bobs) is not None


def test_administrator_forgets_a_users_devices_from_the_cli(remembered, runner, in_app):
    from idp.extensions import db
    from idp.models import RememberedDevice

    result = runner("users", "forget-devices", "alice@example.com", "--realm", "acme")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "forgot 1 remembered device of alice@example.com"
    with in_app():
        assert db.session.scalars(db.select(RememberedDevice)).all() == []
