"""The user's own account page: set up an authenticator app, rename or remove it, regenerate
recovery codes, change the phone. Sensitive changes need a session that passed a second
factor; a password-only session is sent through a step-up login first."""
import json
import re

import pyotp
import pytest

from .conftest import PHONE, link, page_secret, phone_record, text_of

ACCOUNT = "/realms/acme/account"
TOKEN_RE = re.compile(r'name="[^"]*csrf_token"[^>]*value="([^"]+)"')


def post(login, url, fields, prefix=None):
    """Submit one of the account page's forms (they carry prefixed CSRF fields)."""
    token_field = f"{prefix}-csrf_token" if prefix else "csrf_token"
    names = {f"{prefix}-{k}" if prefix else k: v for k, v in fields.items()}
    return login._follow(login.http.post(url, data={token_field: TOKEN_RE.search(login.page).group(1), **names}))


def _open_account(browser, realm, **log_in):
    """Open the account page: the login it starts ends back on the page."""
    login = browser(realm)
    login.get(ACCOUNT)
    assert "Log in" in login.page
    login.log_in(**log_in)
    return login


def _device_rows(in_app):
    from idp.extensions import db
    from idp.models import Authenticator

    with in_app():
        return [(d.name, d.state) for d in db.session.scalars(
            db.select(Authenticator).filter_by(kind="totp").order_by(Authenticator.created_at))]


def _user(in_app, user_id):
    from idp.extensions import db
    from idp.models import User

    with in_app():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_user_sets_up_an_authenticator_app_that_turns_mfa_on_once_activated(realm_factory, user_factory, browser,
                                                                            in_app):
    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory()
    login = _open_account(browser, realm)
    assert "Your account" in login.page
    login.get(link(login.page, "Set up authenticator app"))
    assert 'value="Authenticator"' in login.page, "default device name"
    secret = page_secret(login.page)
    assert _device_rows(in_app) == [("Authenticator", "pending")]
    assert not _user(in_app, user.id).mfa_enabled

    login.submit({"name": "Pixel", "code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert login.response.status_code == 400
    assert _device_rows(in_app) == [("Authenticator", "pending")]

    login.submit({"name": "Pixel", "code": pyotp.TOTP(secret).now()})
    assert "Save your recovery codes" in login.page, "the first factor comes with recovery codes"
    download = login.http.get(link(login.page, "Download"))
    assert download.headers["Content-Disposition"] == 'attachment; filename="acme-recovery-codes.txt"'
    login.submit({"saved": "y"})
    assert "Pixel" in text_of(login.page)
    assert _device_rows(in_app) == [("Pixel", "active")]
    assert _user(in_app, user.id).mfa_enabled

    next_login = browser(realm)
    next_login.authorize()
    next_login.log_in()
    assert "Enter the code from your authenticator app" in next_login.page


@pytest.fixture
def totp_user_on_account_page(realm_factory, user_factory, browser):
    """A user with an authenticator app who logged in with it (the session has "mfa")."""
    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    login = _open_account(browser, realm)
    login.submit({"code": user.totp_code()})
    assert "Your account" in login.page
    return realm, user, login


def test_user_renames_their_authenticator_app(totp_user_on_account_page, in_app):
    _, _, login = totp_user_on_account_page
    action = re.search(r'action="([^"]*/factors/([0-9a-f]+)/rename)"', login.page)
    post(login, action.group(1), {"name": "Work phone"}, prefix=f"n{action.group(2)}")
    assert "Device renamed." in text_of(login.page)
    assert _device_rows(in_app) == [("Work phone", "active")]

    post(login, action.group(1), {"name": " "}, prefix=f"n{action.group(2)}")
    assert "Give the device a name" in text_of(login.page)
    assert _device_rows(in_app) == [("Work phone", "active")]


def test_user_removes_their_authenticator_app(totp_user_on_account_page, in_app):
    _, _, login = totp_user_on_account_page
    action = re.search(r'action="([^"]*/factors/([0-9a-f]+)/remove)"', login.page)
    post(login, action.group(1), {}, prefix=f"r{action.group(2)}")
    assert "Authenticator removed." in text_of(login.page)
    assert _device_rows(in_app) == []
    from idp.extensions import db
    from idp.models import AuditEvent

    with in_app():
        assert db.session.scalar(db.select(AuditEvent.id).filter_by(event_type="mfa.device_removed"))


def test_someone_elses_device_cannot_be_removed(totp_user_on_account_page, user_factory, in_app):
    _, _, login = totp_user_on_account_page
    user_factory("bob@example.com", with_totp=True)
    from idp.extensions import db
    from idp.models import Authenticator, User

    with in_app():
        bob = db.session.scalar(db.select(User).filter_by(email="bob@example.com"))
        bobs = db.session.scalar(db.select(Authenticator.id).filter_by(user_id=bob.id, kind="totp"))
    post(login, f"{ACCOUNT}/factors/{bobs}/remove", {}, prefix=f"r{bobs}")
    assert login.response.status_code == 404
    assert len(_device_rows(in_app)) == 2


def test_regenerating_recovery_codes_needs_a_second_factor_first(realm_factory, user_factory, browser):
    realm = realm_factory(integration=False, totp_enabled=True, mfa_login_form=False)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    login = _open_account(browser, realm)
    assert "Your account" in login.page, "password only: the login form does not ask for MFA"

    post(login, f"{ACCOUNT}/recovery-codes", {}, prefix="regen")
    assert "Enter the code from your authenticator app" in login.page, "step-up before new codes"
    login.submit({"code": user.totp_code()})
    assert "Your account" in login.page

    post(login, f"{ACCOUNT}/recovery-codes", {}, prefix="regen")
    assert "Save your recovery codes" in login.page
    new_codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", login.page)
    assert len(new_codes) == 10 and not set(new_codes) & set(user.recovery_codes)
    login.submit({"saved": "y"})
    assert "You have 10 unused recovery codes." in text_of(login.page)

    old = browser(realm)
    old.authorize(acr_values="urn:idp:acr:mfa")
    old.log_in()
    old.get(link(old.page, "Use a recovery code"))
    old.submit({"code": user.recovery_codes[0]})
    assert old.response.status_code == 400, "the old set is gone"
    old.submit({"code": new_codes[0]})
    assert "Recovery code accepted" in old.page


def test_changing_a_verified_phone_needs_a_code_from_that_phone_first(realm_factory, user_factory, browser,
                                                                     sms_code, in_app):
    realm = realm_factory(mfa_login_form=False)
    user = user_factory(phone=PHONE, with_recovery_codes=True)
    login = _open_account(browser, realm)
    assert "Your account" in login.page

    login.get(link(login.page, "Change phone number"))
    assert "Enter the code we sent to +1 •••• ••0100" in text_of(login.page), "step-up to the old phone"
    login.submit({"code": sms_code(PHONE)})
    assert "Enter your phone number" in login.page
    login.submit({"phone": "+14155550123"})
    assert "Enter the code we sent to +1 •••• ••0123" in text_of(login.page)
    login.submit({"code": sms_code("+14155550123")})
    assert "Your phone number was verified." in text_of(login.page)
    assert phone_record(in_app, user.email) == ("+14155550123", True)


def test_user_without_a_phone_adds_one_from_the_account_page(realm_factory, user_factory, browser, sms_code, in_app):
    realm = realm_factory()
    user = user_factory()
    login = _open_account(browser, realm)
    login.get(link(login.page, "Add phone number"))
    login.submit({"phone": "+14155550123"})
    login.submit({"code": sms_code()})
    assert "Save your recovery codes" in login.page
    login.submit({"saved": "y"})
    added = _user(in_app, user.id)
    assert (*phone_record(in_app, user.email), added.mfa_enabled) == ("+14155550123", True, True)


def test_administrators_phone_cannot_be_changed_from_the_account_page(realm_factory, user_factory, browser,
                                                                      sms_code):
    realm = realm_factory()
    user_factory(admin_phone=PHONE, with_recovery_codes=True)
    login = _open_account(browser, realm)
    login.submit({"code": sms_code()})
    assert "Change phone number" not in text_of(login.page)
    login.get(f"{ACCOUNT}/factors/sms/setup")
    assert login.response.status_code == 403
    assert "set by your administrator" in text_of(login.page)


def test_secrets_are_stored_only_encrypted_or_as_digests(realm_factory, user_factory, browser, sms_code, in_app):
    """The TOTP key is encrypted; recovery codes and text-message codes are kept as digests:
    none of them appears in any column of any table."""
    realm = realm_factory(totp_enabled=True, mfa_required=True)
    user_factory()
    login = _open_account(browser, realm)
    login.get(link(login.page, "Text me a code"))
    login.submit({"phone": "+14155550123"})
    sms = sms_code()
    login.submit({"code": sms})
    recovery_codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", login.page)
    login.submit({"saved": "y"})
    login.get(link(login.page, "Set up authenticator app"))
    secret = page_secret(login.page)
    login.submit({"code": pyotp.TOTP(secret).now()})
    assert "Your account" in login.page

    from idp.extensions import db
    from idp.models import Authenticator
    from idp.security import decrypt

    with in_app():
        device = db.session.scalar(db.select(Authenticator).filter_by(kind="totp"))
        assert secret not in json.dumps(device.data)
        assert decrypt(device.data["secret"]) == secret

        tables = {table.name: [" ".join(json.dumps(v) for v in row if isinstance(v, (str, dict, list)))
                               for row in db.session.execute(table.select())]
                  for table in db.metadata.sorted_tables}
    assert tables["authenticators"] and tables["otp_challenges"]
    dump = "\n".join(cell for rows in tables.values() for cell in rows)
    plain_values = [secret, secret.lower(), *recovery_codes, *(c.replace("-", "") for c in recovery_codes)]
    assert [value for value in plain_values if value in dump] == []
    assert not re.search(rf"(?<![0-9a-f]){sms}(?![0-9a-f])", dump)


@pytest.mark.parametrize("realm_settings, allowed", [
    ({}, True),
    ({"users_may_toggle_mfa": False}, False),
    ({"mfa_required": True}, False),
], ids=["realm-lets-users-choose", "realm-decides", "mfa-required"])
def test_user_turns_mfa_off_only_where_the_realm_lets_them(realm_factory, user_factory, browser, sms_code, in_app,
                                                           realm_settings, allowed):
    realm = realm_factory(**realm_settings)
    user = user_factory(phone=PHONE, with_recovery_codes=True)
    login = _open_account(browser, realm)
    login.submit({"code": sms_code()})
    assert ("Turn off two-factor authentication" in login.page) is allowed
    post(login, f"{ACCOUNT}/mfa", {})
    if not allowed:
        assert login.response.status_code == 403
        assert _user(in_app, user.id).mfa_enabled
        return
    assert "Two-factor authentication is off." in text_of(login.page)
    assert not _user(in_app, user.id).mfa_enabled
    next_login = browser(realm)
    next_login.authorize()
    next_login.log_in()
    assert next_login.redirected_to_app


def test_account_phone_code_page_has_no_broken_links(realm_factory, user_factory, browser):
    realm = realm_factory()
    user_factory()
    login = _open_account(browser, realm)
    login.get(link(login.page, "Add phone number"))
    login.submit({"phone": "+14155550123"})
    assert "Enter the code we sent to" in login.page
    assert 'href="None"' not in login.page
