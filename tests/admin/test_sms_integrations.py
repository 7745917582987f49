"""SMS integrations in the console: Twilio credentials stored encrypted, a test message,
activate/deactivate/remove, and bad input refused on its field."""
from __future__ import annotations

import re

from ..helpers import outbox_messages
from .conftest import PHONE

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-0123456789"


def _rows(in_app):
    from idp.extensions import db
    from idp.models import SmsIntegration

    with in_app():
        return [(r.name, r.kind, r.active, r.settings, r.secret_encrypted)
                for r in db.session.scalars(db.select(SmsIntegration).order_by(SmsIntegration.id))]


def test_twilio_integration_is_added_with_the_token_encrypted_and_never_shown(console, target_realm, in_app):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme/sms-integrations", {
        "kind": "twilio", "name": "Twilio US", "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
        "from_number": "+1 415 555 0199", "active": "y"})
    assert "SMS integration Twilio US added." in browser.text()
    assert AUTH_TOKEN not in browser.page
    assert f"Account {ACCOUNT_SID}, from +14155550199" in browser.text()
    [(name, kind, active, settings, secret)] = _rows(in_app)
    assert (name, kind, active, settings["from_number"]) == ("Twilio US", "twilio", True, "+14155550199")
    assert secret and AUTH_TOKEN not in secret


def test_twilio_without_credentials_is_refused_on_the_field(console, target_realm, in_app):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme/sms-integrations", {"kind": "twilio", "name": "T", "account_sid": "nope"})
    assert browser.status == 400
    assert re.search(r'id="account_sid-error" role="alert">.*AC followed by 32 hex digits', browser.page, re.S)
    browser.post("/admin/realms/acme/sms-integrations", {"kind": "twilio", "name": "T", "account_sid": ACCOUNT_SID})
    assert re.search(r'id="auth_token-error" role="alert">', browser.page)
    browser.post("/admin/realms/acme/sms-integrations", {"kind": "carrier-pigeon", "name": "P"})
    assert browser.status == 400 and "Not a valid choice" in browser.text()
    assert _rows(in_app) == []


def test_test_send_texts_the_number_through_that_integration(console, target_realm, in_app, instance_path,
                                                            audit_events):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme/sms-integrations", {"kind": "outbox", "name": "outbox"})
    integration = re.search(r"/sms-integrations/(\d+)/test", browser.page).group(1)
    assert f'<label for="t{integration}-phone">Test phone number for outbox</label>' in browser.page

    browser.post(f"/admin/realms/acme/sms-integrations/{integration}/test", {f"t{integration}-phone": PHONE},
                 prefix=f"t{integration}-")
    assert "Test message sent through outbox." in browser.text()
    [message] = outbox_messages(instance_path)
    assert message["to"] == PHONE and "the SMS integration 'outbox' works" in message["body"]
    details, _ = audit_events("sms_integration.test_sent")[0]
    assert details == {"name": "outbox", "phone": "+1 •••• ••0100", "by_admin": "owner@example.com"}

    browser.post(f"/admin/realms/acme/sms-integrations/{integration}/test", {f"t{integration}-phone": "12"},
                 prefix=f"t{integration}-")
    assert browser.status == 400 and "Include your country code" in browser.text()


def test_integrations_are_activated_deactivated_and_removed(console, target_realm, in_app, audit_events):
    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme/sms-integrations", {"kind": "outbox", "name": "outbox"})
    integration = re.search(r"/sms-integrations/(\d+)/activate", browser.page).group(1)
    base = f"/admin/realms/acme/sms-integrations/{integration}"
    browser.post(f"{base}/activate")
    assert _rows(in_app)[0][2] is True
    browser.post(f"{base}/deactivate")
    assert "outbox is no longer active." in browser.text() and _rows(in_app)[0][2] is False
    browser.post(f"{base}/remove")
    assert "outbox was removed." in browser.text() and _rows(in_app) == []
    assert [d["by_admin"] for d, _ in audit_events("sms_integration.removed")] == ["owner@example.com"]
    browser.post(f"{base}/activate")
    assert browser.status == 404


def test_integration_of_another_realm_is_not_reachable(console, target_realm, in_app):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.sms_integrations import add_integration

    target_realm()
    with in_app():
        other = add_integration(get_realm("default"), kind="outbox", name="theirs")
        db.session.commit()
        other_id = other.id
    browser = console("owner")
    browser.post(f"/admin/realms/acme/sms-integrations/{other_id}/activate")
    assert browser.status == 404


def test_the_add_form_shows_every_offered_providers_fields_with_secrets_as_password_inputs(console, target_realm, app):
    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme/sms-integrations")
    for spec in app.extensions["idp.sms_providers"].all():
        assert re.search(rf'<option value="{spec.kind}">', browser.page), spec.kind
        for spec_field in spec.fields:
            control = re.search(rf'<input[^>]*id="{spec_field.name}"[^>]*>', browser.page).group(0)
            assert f'<label for="{spec_field.name}">{spec_field.label}</label>' in browser.page
            assert ('type="password"' in control) is spec_field.secret, control
            assert not spec_field.secret or not re.search(r'value="[^"]', control)
    browser.post("/admin/realms/acme/sms-integrations", {"kind": "twilio", "name": "T", "account_sid": "nope",
                                                          "auth_token": AUTH_TOKEN})
    assert browser.status == 400 and AUTH_TOKEN not in browser.page


def test_changing_twilio_settings_keeps_the_auth_token_when_left_blank(console, target_realm, in_app, audit_events):
    from idp.security import decrypt

    target_realm()
    browser = console("owner")
    browser.post("/admin/realms/acme/sms-integrations", {
        "kind": "twilio", "name": "Twilio US", "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
        "from_number": "+1 415 555 0199"})
    integration = re.search(r"/sms-integrations/(\d+)/settings", browser.page).group(1)
    assert f'<label for="s{integration}-auth_token">Twilio auth token of Twilio US</label>' in browser.page
    assert "Leave blank to keep the stored one." in browser.page and AUTH_TOKEN not in browser.page
    prefix = f"s{integration}-"
    browser.post(f"/admin/realms/acme/sms-integrations/{integration}/settings", {
        f"{prefix}account_sid": ACCOUNT_SID, f"{prefix}auth_token": "", f"{prefix}from_number": "+1 415 555 0142",
        f"{prefix}messaging_service_sid": ""}, prefix=prefix)
    assert "Settings of Twilio US saved." in browser.text()
    assert f"Account {ACCOUNT_SID}, from +14155550142" in browser.text()
    [(_, _, _, settings, secret)] = _rows(in_app)
    with in_app():
        assert settings["from_number"] == "+14155550142" and decrypt(secret) == AUTH_TOKEN
    assert [d["fields"] for d, _ in audit_events("sms_integration.changed")] == [["from_number"]]

    browser.post(f"/admin/realms/acme/sms-integrations/{integration}/settings", {
        f"{prefix}account_sid": ACCOUNT_SID, f"{prefix}from_number": ""}, prefix=prefix)
    assert browser.status == 400
    assert re.search(rf'id="{prefix}from_number-error" role="alert">.*Twilio needs --from-number', browser.page, re.S)
    assert _rows(in_app)[0][3]["from_number"] == "+14155550142"
