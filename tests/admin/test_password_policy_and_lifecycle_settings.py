"""Realm settings issue 8 lists beyond MFA: the password policy (NIST SP 800-63B), email
verification and "Remember this device", each explained on the settings page; and "Forget
remembered devices" on a user's page."""
from __future__ import annotations

import re

import pytest

from .conftest import remember_a_device, user_id
from .test_seed_steps import SETTINGS


def realm_row(in_app, name="acme"):
    from idp.services.realms import get_realm

    with in_app():
        realm = get_realm(name)
        return {key: getattr(realm, key) for key in ("display_name", "password_min_length", "password_block_common",
                                                     "password_block_email", "require_email_verification",
                                                     "remember_device_days")}


def test_owner_sets_the_password_policy_and_life_cycle_settings(console, target_realm, in_app, audit_events):
    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme")
    for label in ("Minimum password length (characters)", "Refuse common passwords",
                  "Refuse passwords that contain the email address", "Require a verified email address",
                  "Remember devices for (days)"):
        assert f">{label}</label>" in browser.page, label
    assert re.search(r'<input[^>]*id="password_min_length"[^>]*value="8"', browser.page)
    assert 'until they open it, their login stops at "Check your inbox"' in browser.text().replace("Until", "until")
    assert "0 turns it off." in browser.text()

    fields = {**SETTINGS, "password_min_length": "12", "require_email_verification": "y",
              "remember_device_days": "30"}
    del fields["password_block_common"]
    browser.post("/admin/realms/acme", fields)

    assert browser.status == 200 and "Settings saved." in browser.text()
    assert realm_row(in_app) == {"display_name": "Acme", "password_min_length": 12, "password_block_common": False,
                                 "password_block_email": True, "require_email_verification": True,
                                 "remember_device_days": 30}
    (changes, _), = audit_events("realm.settings_changed")
    assert changes["changes"] == {"password_min_length": 12, "password_block_common": False,
                                  "require_email_verification": True, "remember_device_days": 30}
    assert changes["by_admin"] == "owner@example.com"
    assert re.search(r'<input[^>]*id="remember_device_days"[^>]*value="30"', browser.page)


@pytest.mark.parametrize("field, value, message", [
    ("password_min_length", "7", "Give a number of characters between 8 and 128."),
    ("password_min_length", "129", "Give a number of characters between 8 and 128."),
    ("password_min_length", "twelve", "Not a valid integer value."),
    ("remember_device_days", "-1", "Give a number of days between 0 (off) and 365."),
    ("remember_device_days", "400", "Give a number of days between 0 (off) and 365."),
])
def test_a_bad_number_is_refused_on_its_field_and_nothing_is_saved(console, target_realm, in_app, field, value,
                                                                   message):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme", {**SETTINGS, "display_name": "Renamed", "require_email_verification": "y",
                                        field: value})

    assert browser.status == 400
    assert re.search(rf'id="{field}-error" role="alert">.*?{re.escape(message)}', browser.page, re.S)
    assert f'value="{value}"' in browser.page, "the form keeps what the owner typed"
    assert realm_row(in_app)["display_name"] == "Acme"
    assert realm_row(in_app)["require_email_verification"] is False


def test_viewer_and_operator_cannot_change_the_policy(console, target_realm, in_app):
    target_realm()
    for role in ("viewer", "operator"):
        browser = console(role, email=f"{role}@example.com")
        browser.get("/admin/realms/acme")
        box = re.search(r'<input[^>]*id="password_min_length"[^>]*>', browser.page).group(0)
        assert "disabled" in box
        browser.post("/admin/realms/acme", {**SETTINGS, "password_min_length": "20"})
        assert browser.status == 403
        assert f"Your role ({role}) cannot change realm settings." in browser.text()
    assert realm_row(in_app)["password_min_length"] == 8


def _add_devices(in_app, count=2):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    with in_app():
        user = get_user(get_realm("acme"), "alice@example.com")
        for _ in range(count):
            remember_a_device(user)
        db.session.commit()


def _device_count(in_app):
    from idp.extensions import db
    from idp.models import RememberedDevice

    with in_app():
        return db.session.scalar(db.select(db.func.count(RememberedDevice.id)))


def test_operator_forgets_a_users_remembered_devices(console, target_realm, in_app, audit_events):
    target_realm()
    _add_devices(in_app, 2)
    alice = user_id(in_app, "acme", "alice@example.com")
    browser = console("operator")
    browser.get(f"/admin/realms/acme/users/{alice}")
    assert "Remembered devices" in browser.text()
    assert browser.text().count("Chrome on Linux (192.0.2.7)") == 2

    browser.post(f"/admin/realms/acme/users/{alice}/forget-devices")

    assert browser.status == 200
    assert ("Forgot 2 remembered devices of alice@example.com: the next login on them asks for a second factor."
            in browser.text())
    assert _device_count(in_app) == 0
    assert "No browser skips the second factor for this user" in browser.text()
    (details, event_user), = audit_events("mfa.remembered_devices_forgotten")
    assert (details["count"], details["reason"], details["by_admin"], event_user) \
        == (2, "admin", "operator@example.com", alice)


def test_forgetting_without_devices_says_so(console, target_realm, in_app):
    target_realm()
    alice = user_id(in_app, "acme", "alice@example.com")
    browser = console("owner")
    browser.post(f"/admin/realms/acme/users/{alice}/forget-devices")
    assert browser.status == 200 and "alice@example.com had no remembered devices." in browser.text()


def test_viewer_cannot_forget_devices_nor_post_without_the_csrf_token(app, console, target_realm, in_app):
    target_realm()
    _add_devices(in_app, 1)
    alice = user_id(in_app, "acme", "alice@example.com")
    viewer = console("viewer")
    viewer.get(f"/admin/realms/acme/users/{alice}")
    assert "Forget remembered devices" not in viewer.text()
    viewer.post(f"/admin/realms/acme/users/{alice}/forget-devices")
    assert viewer.status == 403

    owner = console("owner")
    response = owner.http.post(f"/admin/realms/acme/users/{alice}/forget-devices", data={})
    assert response.status_code == 400 and "Your form expired" in response.get_data(as_text=True)
    assert _device_count(in_app) == 1
