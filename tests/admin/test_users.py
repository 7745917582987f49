"""Users in the console: search, User Details with factors, last login and audit trail; reset
factors, lock and unlock, delete. Bad input is a 4xx page with the message on its field."""
from __future__ import annotations

import re

import pyotp

from ..flows import HostedLogin, what_still_works
from .conftest import PHONE, user_id


def _alice(in_app, **changes):
    from idp.extensions import db
    from tests.helpers import generate_recovery_codes
    from tests.helpers import activate_totp, begin_totp_enrolment
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    with in_app():
        user = get_user(get_realm("acme"), "alice@example.com")
        if changes.get("totp"):
            device, secret = begin_totp_enrolment(user, "Work phone")
            activate_totp(user, device, pyotp.TOTP(secret).now())
        if changes.get("recovery"):
            generate_recovery_codes(user)
        if changes.get("phone"):
            from idp.mfa import flows
            from idp.mfa.registry import get_factor

            flows.activate(get_factor("sms").begin_enrolment(user, {"phone": changes["phone"]}), by="user")
        db.session.commit()
        return user.id


def _user_row(in_app, email="alice@example.com"):
    from idp.services.realms import get_realm
    from idp.services.users import find_user_by_email

    with in_app():
        user = find_user_by_email(get_realm("acme"), email)
        if user is None:
            return None
        from idp.mfa.sms import phone_credential

        phone = phone_credential(user)
        data = phone.data if phone is not None else {}
        return {"mfa_enabled": user.mfa_enabled, "disabled": user.disabled, "phone": data.get("phone"),
                "phone_verified": bool(data.get("verified")), "phone_set_by_admin": bool(data.get("set_by_admin"))}


def test_search_finds_users_by_part_of_the_email(console, target_realm, in_app):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import create_user

    target_realm()
    with in_app():
        create_user(get_realm("acme"), email="bob@example.org", password=None)
        db.session.commit()
    browser = console("viewer")
    browser.get("/admin/realms/acme/users?q=example.org")
    assert "bob@example.org" in browser.text() and "alice@example.com" not in browser.text()
    browser.get("/admin/realms/acme/users?q=nobody")
    assert "No user matches your search." in browser.text()


def test_a_long_user_list_pages_by_fifty(console, target_realm, in_app):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import create_user

    target_realm()
    with in_app():
        realm = get_realm("acme")
        for n in range(55):
            create_user(realm, email=f"user{n:02d}@example.org", password=None)
        db.session.commit()
    browser = console("viewer")

    browser.get("/admin/realms/acme/users?q=example.org")
    assert "Next page" in browser.text() and "Previous page" not in browser.text()
    next_page = re.search(r'<nav class="pager"[^>]*>.*?href="([^"]+)"', browser.page, re.S).group(1)
    browser.get(next_page.replace("&amp;", "&"))
    assert "Previous page" in browser.text() and "Next page" not in browser.text()
    assert browser.text().count("@example.org") == 5


def test_user_page_shows_factors_last_login_and_audit_trail(console, target_realm, in_app, app):
    acme = target_realm()
    alice = _alice(in_app, totp=True, recovery=True, phone=PHONE)
    login = HostedLogin(app.test_client(), acme.name, acme.client_id, acme.client_secret)
    login.authorize()
    login.log_in()
    browser = console("viewer")
    browser.get(f"/admin/realms/acme/users/{alice}")
    text = browser.text()
    assert "Authenticator app Work phone" in text
    assert "Recovery codes Recovery codes 10 unused" in text
    assert "Phone Phone +1 •••• ••0100" in text and "The phone on record is verified" in text
    assert re.search(r"Last login \d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    assert "Audit trail" in text and "login.succeeded" in text and "mfa.device_added" in text


def test_reset_factors_removes_phone_apps_and_codes_but_keeps_the_flag(console, target_realm, in_app, audit_events):
    target_realm()
    alice = _alice(in_app, totp=True, recovery=True, phone=PHONE)
    browser = console("operator")
    browser.get(f"/admin/realms/acme/users/{alice}")
    browser.post(f"/admin/realms/acme/users/{alice}", {"mfa_enabled": "y", "phone": PHONE})
    browser.post(f"/admin/realms/acme/users/{alice}/reset-factors")

    assert "Every second factor of alice@example.com was removed." in browser.text()
    assert "No second factors." in browser.text()
    assert _user_row(in_app)["phone"] is None and _user_row(in_app)["mfa_enabled"] is True
    assert audit_events("mfa.factors_reset") == [({"by_admin": "operator@example.com"}, alice)]


def test_locking_a_user_stops_their_login_and_unlocking_restores_it(console, target_realm, in_app, app):
    acme = target_realm()
    alice = _alice(in_app)
    browser = console("operator")
    browser.post(f"/admin/realms/acme/users/{alice}/lock")
    assert "alice@example.com is locked" in browser.text()
    assert "Locked: cannot log in" in browser.text()

    login = HostedLogin(app.test_client(), acme.name, acme.client_id, acme.client_secret)
    login.authorize()
    login.log_in()
    assert not login.redirected_to_app

    browser.post(f"/admin/realms/acme/users/{alice}/unlock")
    assert "alice@example.com can log in again." in browser.text()
    login = HostedLogin(app.test_client(), acme.name, acme.client_id, acme.client_secret)
    login.authorize()
    login.log_in()
    assert login.redirected_to_app


def test_delete_needs_the_confirmation_box(console, target_realm, in_app, audit_events):
    target_realm()
    alice = _alice(in_app)
    browser = console("operator")
    browser.post(f"/admin/realms/acme/users/{alice}/delete", {})
    assert browser.status == 400
    assert "Tick the box to confirm the deletion." in browser.text()
    assert _user_row(in_app) is not None

    browser.post(f"/admin/realms/acme/users/{alice}/delete", {"confirm": "y"})
    assert browser.status == 200 and "alice@example.com was deleted." in browser.text()
    assert _user_row(in_app) is None
    details, _ = audit_events("user.deleted")[-1]
    assert details == {"email": "alice@example.com", "by_admin": "operator@example.com"}


def test_an_admin_cannot_lock_or_delete_their_own_console_account(console, in_app):
    browser = console("owner")
    me = user_id(in_app, "admin", "owner@example.com")
    browser.get(f"/admin/realms/admin/users/{me}")
    assert "This is your own console account" in browser.text()
    browser.post(f"/admin/realms/admin/users/{me}/lock")
    assert browser.status == 409
    assert "You cannot lock your own console account." in browser.text()


def test_unknown_users_and_realms_are_a_console_404(console):
    browser = console("viewer")
    browser.get("/admin/realms/acme/users")
    assert browser.status == 404 and "There is no realm named 'acme'." in browser.text()
    browser.get("/admin/realms/default/users/nobody")
    assert browser.status == 404 and "does not exist" in browser.text()
    browser.get("/admin/realms/default/users/" + "x" * 300)
    assert browser.status == 404


def test_an_owner_changes_another_administrators_role(console, admin_factory, in_app, audit_events):
    admin_factory("viewer", "helper@example.com")
    browser = console("owner")
    helper = user_id(in_app, "admin", "helper@example.com")
    browser.get(f"/admin/realms/admin/users/{helper}")
    assert '<label for="role">Console role</label>' in browser.page
    browser.post(f"/admin/realms/admin/users/{helper}/role", {"role": "operator"})
    assert "helper@example.com is now operator." in browser.text()
    assert audit_events("admin.role_changed") == [
        ({"role": "operator", "previous": "viewer", "by_admin": "owner@example.com"}, helper)]
    browser.post(f"/admin/realms/admin/users/{helper}/role", {"role": "emperor"})
    assert browser.status == 400 and "Not a valid choice" in browser.text()
    me = user_id(in_app, "admin", "owner@example.com")
    browser.post(f"/admin/realms/admin/users/{me}/role", {"role": "viewer"})
    assert browser.status == 400 and "You cannot change the role of your own console account." in browser.text()


def test_search_and_audit_filter_find_a_non_ascii_address_typed_in_another_case(console, target_realm, in_app):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import create_user

    target_realm()
    with in_app():
        create_user(get_realm("acme"), email="Émile@example.org", password=None)
        db.session.commit()
    browser = console("viewer")
    browser.get("/admin/realms/acme/users?q=ÉMILE")
    assert "Émile@example.org" in browser.text()
    browser.get("/admin/audit?user=émile@EXAMPLE.org")
    assert "user.created" in browser.text() and "Émile@example.org" in browser.text()


def _alice_signed_in(app, acme):
    from ..flows import signed_in_with_tokens

    return signed_in_with_tokens(app.test_client(), acme.name, acme.client_id, acme.client_secret)


def test_password_set_in_the_console_logs_the_user_out_of_every_browser_and_app(console, target_realm, in_app, app,
                                                                                 audit_events):
    """Someone who knew the old password keeps no session or token after an administrator changes it."""
    acme = target_realm()
    alice = user_id(in_app, "acme", "alice@example.com")
    signed_in = _alice_signed_in(app, acme)
    browser = console("operator")
    browser.get(f"/admin/realms/acme/users/{alice}")
    assert "Keep the user's sessions and app tokens" in browser.text()
    browser.post(f"/admin/realms/acme/users/{alice}/password", {"password": "a brand new passphrase"})

    assert "they were logged out of every browser and app" in browser.text()
    assert what_still_works(*signed_in) == {"session": False, "access_token": False, "refresh_token": False}
    assert audit_events("user.signed_out_everywhere") == [(
        {"reason": "admin", "sessions": 1, "logins": 0, "tokens": 1, "remembered_devices": 0, "by_admin": "operator@example.com"},
        alice)]
    login = HostedLogin(app.test_client(), acme.name, acme.client_id, acme.client_secret)
    login.authorize()
    login.log_in(password="a brand new passphrase")
    assert login.redirected_to_app


def test_console_may_keep_the_sessions_when_setting_a_password(console, target_realm, in_app, app, audit_events):
    acme = target_realm()
    alice = user_id(in_app, "acme", "alice@example.com")
    signed_in = _alice_signed_in(app, acme)
    browser = console("operator")
    browser.get(f"/admin/realms/acme/users/{alice}")
    browser.post(f"/admin/realms/acme/users/{alice}/password",
                 {"password": "a brand new passphrase", "keep_sessions": "y"})

    assert "their sessions and app tokens were kept" in browser.text()
    assert what_still_works(*signed_in) == {"session": True, "access_token": True, "refresh_token": True}
    assert audit_events("user.password_changed")[-1] == (
        {"reason": "admin", "kept_sessions": True, "by_admin": "operator@example.com"}, alice)


def test_a_password_the_policy_refuses_is_a_400_and_ends_nothing(console, target_realm, in_app, app):
    acme = target_realm()
    alice = user_id(in_app, "acme", "alice@example.com")
    signed_in = _alice_signed_in(app, acme)
    browser = console("operator")
    browser.get(f"/admin/realms/acme/users/{alice}")
    browser.post(f"/admin/realms/acme/users/{alice}/password", {"password": "short"})

    assert browser.status == 400 and "Password must be at least 8 characters." in browser.text()
    assert what_still_works(*signed_in)["session"] is True
