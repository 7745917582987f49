"""Realms in the console: the list, a new realm, settings with their rules, and the admin
realm's own guard (the console never turns off its second factor)."""
from __future__ import annotations

from .test_seed_steps import SETTINGS


def test_owner_creates_a_realm_and_lands_on_its_settings(console, audit_events):
    browser = console("owner")
    browser.post("/admin/realms", {"name": "shop", "display_name": "The Shop"})
    assert browser.url == "/admin/realms/shop" and "Realm shop created." in browser.text()
    assert audit_events("realm.created") == [({"name": "shop", "by_admin": "owner@example.com"}, None)]


def test_bad_realm_names_are_refused_on_the_field(console):
    browser = console("owner")
    browser.post("/admin/realms", {"name": "Bad Name"})
    assert browser.status == 400
    assert "realm name must be 1-63 lowercase letters" in browser.text()
    browser.post("/admin/realms", {"name": "default"})
    assert browser.status == 400 and "realm 'default' already exists" in browser.text()


def test_settings_changes_are_saved_and_audited_with_what_changed(console, target_realm, audit_events, in_app):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme", {**SETTINGS, "totp_enabled": "y", "access_token_lifetime": "900",
                                        "sms_allowed_countries": "us, gb"})
    assert "Settings saved." in browser.text()
    [(details, _)] = audit_events("realm.settings_changed")
    assert details["changes"] == {"totp_enabled": True, "access_token_lifetime": 900,
                                  "sms_allowed_countries": ["GB", "US"]}
    assert details["by_admin"] == "owner@example.com"
    assert 'value="GB, US"' in browser.page


def test_sms_countries_that_are_no_country_are_refused_instead_of_silently_blocking_every_text(
        console, target_realm, in_app):
    target_realm()
    browser = console("owner")

    browser.post("/admin/realms/acme", {**SETTINGS, "sms_allowed_countries": "us, zz"})

    assert browser.status == 400
    assert "ZZ: not a country with phone numbers" in browser.text()
    with in_app():
        from idp.services.realms import find_realm

        assert find_realm("acme").sms_allowed_countries == []


def test_lifetimes_out_of_range_are_a_field_error(console, target_realm):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme", {**SETTINGS, "id_token_lifetime": "5"})
    assert browser.status == 400
    assert "Give a number of seconds between 30 and 31536000." in browser.text()
    browser.post("/admin/realms/acme", {**SETTINGS, "id_token_lifetime": "soon"})
    assert browser.status == 400 and "Not a valid integer value." in browser.text()


def test_mfa_on_without_any_factor_is_warned_about(console, target_realm):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme", {**SETTINGS, "mfa_enabled": "y"})
    assert "neither SMS codes nor authenticator apps are" in browser.text()


def test_the_admin_realm_keeps_its_second_factor_whatever_the_form_says(console, in_app):
    browser = console("owner")
    browser.get("/admin/realms/admin")
    assert "Always on in the admin realm" in browser.text()
    browser.post("/admin/realms/admin", {"display_name": "Administration", "theme": "default"})
    assert "Settings saved." in browser.text(), "disabled switches keep their value"
    browser.post("/admin/realms/admin", {"display_name": "Administration", "theme": "default", "mfa_enabled": "",
                                         "mfa_required": "y", "mfa_login_form": "y", "totp_enabled": "y"})
    from idp.services.realms import get_realm

    with in_app():
        realm = get_realm("admin")
        assert (realm.mfa_enabled, realm.mfa_required, realm.totp_enabled) == (True, True, True)
    browser.post("/admin/realms/admin", {"display_name": "Administration", "theme": "default",
                                         "registration_enabled": "y"})
    assert browser.status == 400 and "no self-registration" in browser.text()


def test_the_settings_page_has_a_labelled_control_for_every_realm_setting_the_cli_has(console, target_realm):
    """The page is laid out from services/realm_settings.py, the list the CLI's options come
    from: a setting there is a control here, under its label."""
    import html

    from idp.services.realm_settings import REALM_SETTINGS

    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme")

    for setting in REALM_SETTINGS:
        assert f'id="{setting.name}"' in browser.page, setting.name
        assert f'<label for="{setting.name}">{html.escape(setting.label, quote=False)}</label>' in browser.page, \
            setting.label
    assert "Empty: the server default, " in browser.page
    for group in ("General", "Two-factor authentication", "Form Configuration", "Second factors", "Passwords",
                  "Account life cycle", "Token lifetimes"):
        assert f"<legend>{group}</legend>" in browser.page
