"""roq-mfa.txt "MFA SMS setup", driven through the console, then proved on a login in the
target realm: enable an SMS integration, enable MFA on the login and registration forms,
enable MFA for an existing user with a phone. Also "Disable MFA" and the SMS switch's rule."""
from __future__ import annotations

import re

from idp.services.mfa_policy import NO_SMS_INTEGRATION

from ..flows import HostedLogin
from ..helpers import outbox_messages
from ..mfa.conftest import MASKED_PHONE, link, logged_in_claims, text_of
from .conftest import PHONE, user_id

SETTINGS = {"display_name": "Acme", "theme": "default", "registration_enabled": "y", "mfa_login_form": "y",
            "users_may_toggle_mfa": "y", "password_min_length": "8", "password_block_common": "y",
            "password_block_email": "y", "remember_device_days": "0",
            "passkey_user_verification_required": "y"}  # the form as it opens on a new realm


def _integration_id(page: str, name: str) -> str:
    return re.search(rf'/sms-integrations/(\d+)/activate"[^>]*>.*?<span class="visually-hidden"> {name}</span>',
                     page, re.S).group(1)


def enable_sms_integration(browser, realm="acme"):
    """Step 1: Integrations > SMS: add an integration and activate it."""
    browser.get(f"/admin/realms/{realm}/sms-integrations")
    browser.post(f"/admin/realms/{realm}/sms-integrations", {"kind": "outbox", "name": "outbox"})
    assert browser.status == 200 and "SMS integration outbox added." in browser.text()
    assert "Inactive" in browser.text()
    browser.post(f"/admin/realms/{realm}/sms-integrations/{_integration_id(browser.page, 'outbox')}/activate")
    assert "outbox is active." in browser.text()


def enable_mfa_on_forms(browser, realm="acme", **extra):
    """Step 2: the MFA master switch, SMS codes, and the flag on each form variant."""
    browser.post(f"/admin/realms/{realm}", {**SETTINGS, "mfa_enabled": "y", "sms_enabled": "y",
                                            "mfa_registration_form": "y", **extra})
    assert browser.status == 200 and "Settings saved." in browser.text(), browser.text()[:3000]


def enable_mfa_for_user(browser, in_app, email="alice@example.com", realm="acme", phone=PHONE):
    """Step 3: Users > User Details: "Two-factor Authentication" on, "Phone" set."""
    browser.get(f"/admin/realms/{realm}/users?q={email}")
    browser.get(link(browser.page, email))
    assert "User Details" in browser.page
    assert '<label for="mfa_enabled">Two-factor Authentication</label>' in browser.page
    assert '<label for="phone">Phone</label>' in browser.page
    browser.post(f"/admin/realms/{realm}/users/{user_id(in_app, realm, email)}",
                 {"mfa_enabled": "y", "phone": phone})
    assert f"User Details of {email} saved." in browser.text()


def test_seed_steps_in_the_console_make_an_existing_users_login_ask_for_an_sms_code(
        console, target_realm, in_app, app, instance_path):
    acme = target_realm()
    browser = console("owner")

    enable_sms_integration(browser)
    enable_mfa_on_forms(browser)
    enable_mfa_for_user(browser, in_app)

    login = HostedLogin(app.test_client(), acme.name, acme.client_id, acme.client_secret)
    login.authorize()
    login.log_in()
    assert f"Enter the code we sent to {MASKED_PHONE}" in text_of(login.page)
    assert [m["to"] for m in outbox_messages(instance_path)] == [PHONE]
    code = re.search(r"\b(\d{6})\b", outbox_messages(instance_path)[-1]["body"]).group(1)
    login.submit({"code": code})
    login.submit({"saved": "y"})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]


def test_without_the_users_flag_the_login_asks_for_no_code(console, target_realm, app):
    """Step 2 alone changes nothing for existing users: "This configuration will impact new users"."""
    acme = target_realm()
    browser = console("owner")
    enable_sms_integration(browser)
    enable_mfa_on_forms(browser)

    login = HostedLogin(app.test_client(), acme.name, acme.client_id, acme.client_secret)
    login.authorize()
    login.log_in()
    assert login.redirected_to_app
    assert logged_in_claims(login)["amr"] == ["pwd"]


def test_registration_form_flag_set_in_the_console_asks_new_users_for_a_phone(console, target_realm, app, mailbox):
    acme = target_realm()
    browser = console("owner")
    enable_sms_integration(browser)
    enable_mfa_on_forms(browser)

    login = HostedLogin(app.test_client(), acme.name, acme.client_id, acme.client_secret)
    login.authorize()
    login.register_and_confirm(mailbox, "new@example.com", "a long enough password", "New Person")
    assert "Enter your phone number" in login.page


def test_turning_the_master_switch_off_in_the_console_stops_the_codes(console, target_realm, in_app, app):
    """roq-mfa.txt "Disable MFA": users with MFA on are not asked while the realm switch is off."""
    acme = target_realm()
    browser = console("owner")
    enable_sms_integration(browser)
    enable_mfa_on_forms(browser)
    enable_mfa_for_user(browser, in_app)
    browser.post("/admin/realms/acme", {**SETTINGS, "sms_enabled": "y", "mfa_registration_form": "y"})
    assert "Settings saved." in browser.text()
    assert "The master switch is off" in browser.text()

    login = HostedLogin(app.test_client(), acme.name, acme.client_id, acme.client_secret)
    login.authorize()
    login.log_in()
    assert login.redirected_to_app


def test_sms_switch_is_disabled_with_the_reason_while_no_integration_is_active(console, target_realm):
    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme")

    box = re.search(r'<input[^>]*id="sms_enabled"[^>]*>', browser.page).group(0)
    assert "disabled" in box
    assert 'aria-describedby="sms_enabled-help sms_enabled-reason"' in box
    assert ("SMS codes cannot be turned on: this realm has no active SMS integration. Add one and activate it "
            "under SMS integrations first.") in browser.text()

    enable_sms_integration(browser)
    browser.get("/admin/realms/acme")
    box = re.search(r'<input[^>]*id="sms_enabled"[^>]*>', browser.page).group(0)
    assert "disabled" not in box
    assert "no active SMS integration" not in browser.text()


def test_forcing_the_sms_switch_is_refused_and_nothing_of_the_form_is_saved(console, target_realm, in_app):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme", {**SETTINGS, "display_name": "Renamed", "mfa_enabled": "y", "sms_enabled": "y"})

    assert browser.status == 400
    assert NO_SMS_INTEGRATION in browser.text()
    assert re.search(r'id="sms_enabled-error" role="alert">', browser.page), "the error sits on the SMS switch"
    from idp.services.realms import get_realm

    with in_app():
        realm = get_realm("acme")
        assert (realm.display_name, realm.mfa_enabled, realm.sms_enabled) == ("Acme", False, False)


def test_the_last_active_integration_cannot_be_deactivated_while_sms_is_on(console, target_realm, in_app):
    target_realm()
    browser = console("owner")
    enable_sms_integration(browser)
    enable_mfa_on_forms(browser)
    browser.get("/admin/realms/acme/sms-integrations")
    integration = re.search(r'/sms-integrations/(\d+)/deactivate', browser.page).group(1)

    browser.post(f"/admin/realms/acme/sms-integrations/{integration}/deactivate")
    assert browser.status == 409
    assert "it is the last active SMS integration and SMS two-factor authentication is on" in browser.text()
    browser.post(f"/admin/realms/acme/sms-integrations/{integration}/remove")
    assert browser.status == 409
    assert "Active" in browser.text()


def test_a_bad_phone_is_refused_on_the_phone_field_and_the_flag_is_not_saved(console, target_realm, in_app):
    target_realm()
    browser = console("operator")
    alice = user_id(in_app, "acme", "alice@example.com")
    browser.post(f"/admin/realms/acme/users/{alice}", {"mfa_enabled": "y", "phone": "555 0100"})

    assert browser.status == 400
    assert re.search(r'id="phone-error" role="alert">.*Include your country code', browser.page, re.S)
    assert 'value="555 0100"' in browser.page, "the form keeps what the admin typed"
    from idp.mfa.sms import phone_on_record
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    with in_app():
        user = get_user(get_realm("acme"), "alice@example.com")
        assert (user.mfa_enabled, phone_on_record(user)) == (False, None)
