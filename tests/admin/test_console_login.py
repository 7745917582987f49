"""Administrators log in to the console through the provider's own ``admin`` realm: password,
then a second factor (an authenticator app every admin must set up), then a console role."""
from __future__ import annotations

import re

import pyotp

from ..helpers import PASSWORD
from .conftest import AdminSetup, ConsoleBrowser


def test_first_start_creates_the_admin_realm_with_authenticator_apps_required(in_app):
    from idp.services.realms import get_realm

    with in_app():
        realm = get_realm("admin")
        assert (realm.mfa_enabled, realm.mfa_login_form, realm.mfa_required, realm.totp_enabled) == (True,) * 4
        assert (realm.registration_enabled, realm.sms_enabled, realm.users_may_toggle_mfa) == (False,) * 3


def test_a_stranger_is_sent_to_the_admin_realms_login_page(client):
    response = client.get("/admin/realms")
    assert response.status_code == 303
    assert response.location.startswith("/realms/admin/console?next=/admin/realms")
    response = client.get(response.location)
    assert response.status_code == 302
    assert re.match(r"^/realms/admin/login/[0-9a-f]+$", response.location)


def test_admin_logs_in_with_password_and_authenticator_code_and_lands_where_they_were_going(app, admin_factory):
    admin = admin_factory("operator")
    browser = ConsoleBrowser(app.test_client())
    browser.get("/admin/realms/default/users")
    browser.submit_page({"email": admin.email, "password": PASSWORD})
    assert "Enter the code from your authenticator app" in browser.text()
    browser.submit_page({"code": admin.totp_code()})

    assert browser.status == 200
    assert browser.url == "/admin/realms/default/users"
    assert "operator@example.com operator" in browser.text()


def test_new_admin_sets_up_an_authenticator_app_at_the_first_login(app, in_app):
    from idp.admin.accounts import create_admin
    from idp.extensions import db

    with in_app():
        create_admin(email="new-owner@example.com", password=PASSWORD, role="owner")
        db.session.commit()
    browser = ConsoleBrowser(app.test_client())
    browser.get("/admin/")
    browser.submit_page({"email": "new-owner@example.com", "password": PASSWORD})

    assert "Set up authenticator app" in browser.page
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', browser.page).group(1).replace(" ", "")
    browser.submit_page({"code": pyotp.TOTP(secret).now(), "name": "Phone"})
    assert "Save your recovery codes" in browser.page
    browser.submit_page({"saved": "y"})
    assert browser.status == 200 and browser.url == "/admin/"
    assert "Dashboard" in browser.text()


def test_a_member_of_the_admin_realm_without_a_role_is_refused(app, in_app):
    from idp.extensions import db
    from tests.helpers import generate_recovery_codes
    from tests.helpers import activate_totp, begin_totp_enrolment
    from idp.services.realms import get_realm
    from idp.services.users import create_user

    with in_app():
        user = create_user(get_realm("admin"), email="nobody@example.com", password=PASSWORD)
        device, secret = begin_totp_enrolment(user)
        activate_totp(user, device, pyotp.TOTP(secret).now())
        generate_recovery_codes(user)
        db.session.commit()
    browser = ConsoleBrowser(app.test_client())
    browser.get("/admin/")
    browser.submit_page({"email": "nobody@example.com", "password": PASSWORD})
    browser.submit_page({"code": AdminSetup("nobody@example.com", "", secret).totp_code()})

    assert browser.status == 403
    assert "nobody@example.com has no role in the admin console" in browser.text()
    assert browser.http.get("/admin/").status_code == 303


def test_a_user_logged_in_to_another_realm_is_asked_to_log_in_to_the_admin_realm(app, in_app):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import create_user

    with in_app():
        create_user(get_realm("default"), email="alice@example.com", password=PASSWORD)
        db.session.commit()
    browser = ConsoleBrowser(app.test_client())
    browser.get("/realms/default/account")
    browser.submit_page({"email": "alice@example.com", "password": PASSWORD})
    assert browser.url == "/realms/default/account"

    browser.get("/admin/")
    assert re.match(r"^/realms/admin/login/[0-9a-f]+$", browser.url)
    browser.submit_page({"email": "alice@example.com", "password": PASSWORD})
    assert "Incorrect email or password." in browser.text(), "an account of another realm is not an admin"


def test_guessing_an_administrators_password_locks_the_console_login_even_with_the_right_password(
        app, admin_factory, audit_events):
    """Administrators log in through the admin realm's hosted page: the per-address lock holds."""
    admin = admin_factory("owner")
    for n in range(10):
        guesser = ConsoleBrowser(app.test_client())
        guesser.http.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        guesser.get("/admin/")
        guesser.submit_page({"email": admin.email, "password": f"guess {n}"})
        assert guesser.status == 400

    browser = ConsoleBrowser(app.test_client())
    browser.get("/admin/")
    browser.submit_page({"email": admin.email, "password": PASSWORD})
    assert browser.status == 429 and "/mfa/" not in browser.url
    assert "Too many wrong passwords for this email address. Try again in 15 minutes" in browser.text()
    assert [details["failures"] for details, _user in audit_events("login.locked")] == [10]


def test_signing_out_ends_the_console_session(console):
    browser = console("viewer")
    response = browser.post("/admin/logout", follow=False)
    assert response.status_code == 303 and response.location == "/admin/signed-out"
    browser.get("/admin/signed-out")
    assert "You are signed out" in browser.text()
    assert browser.http.get("/admin/").status_code == 303
    assert browser.http.get("/realms/admin/console").status_code == 302, "the admin realm session ended too"


def test_a_locked_administrator_is_out_at_the_next_request(console, in_app):
    from idp.admin.operations import lock_user
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    browser = console("operator")
    with in_app():
        lock_user(get_user(get_realm("admin"), "operator@example.com"))
        db.session.commit()
    assert browser.http.get("/admin/").status_code == 303


def test_a_demoted_administrator_loses_the_controls_at_once(console, in_app):
    from idp.admin.accounts import set_admin_role
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    browser = console("operator")
    with in_app():
        set_admin_role(get_user(get_realm("admin"), "operator@example.com"), "viewer")
        db.session.commit()
    browser.get("/admin/realms/default/clients")
    assert "New client" not in browser.page
    assert browser.post("/admin/realms/default/clients", {"name": "X", "redirect_uris": "https://x.example/cb"}
                        ).status_code == 403


def test_next_must_stay_inside_the_console(console):
    browser = console("viewer")
    response = browser.http.get("/realms/admin/console?next=//evil.example/")
    assert response.status_code == 302 and response.location == "/admin/"
    response = browser.http.get("/realms/admin/console?next=https://evil.example/admin")
    assert response.location == "/admin/"


def test_idp_admins_create_makes_an_administrator_with_a_role(runner):
    created = runner("admins", "create", "--email", "boss@example.com", "--password", PASSWORD, "--role", "owner")
    assert created.exit_code == 0, created.output
    assert "role: owner" in created.stdout
    listed = runner("admins", "list")
    assert "boss@example.com  owner" in listed.stdout
    again = runner("admins", "create", "--email", "boss@example.com", "--password", PASSWORD, "--role", "viewer")
    assert again.exit_code != 0
    assert "already exists" in again.output
    changed = runner("admins", "set-role", "boss@example.com", "--role", "viewer")
    assert changed.exit_code == 0
    assert "boss@example.com  viewer" in runner("admins", "list").stdout


def test_idp_admins_create_refuses_an_unknown_role(runner):
    result = runner("admins", "create", "--email", "x@example.com", "--password", PASSWORD, "--role", "god")
    assert result.exit_code == 2
    assert "'god' is not one of" in result.output
