"""Roles: owner (everything), operator (users and clients), viewer (read-only). Every POST
route of the console is listed here with the area it changes; each role is tried on each, a
refusal changes nothing, and an allowed change is an audit event naming the administrator."""
from __future__ import annotations

import re

import pytest

from .conftest import PHONE

#: Every POST route of the console and the area it changes (``requires(area)``).
POST_ROUTES = {
    "admin.create_realm_view": "realms",
    "admin.update_realm_settings": "realms",
    "admin.add_sms_integration": "sms",
    "admin.activate_sms_integration": "sms",
    "admin.deactivate_sms_integration": "sms",
    "admin.remove_sms_integration": "sms",
    "admin.test_sms_integration": "sms",
    "admin.change_sms_integration": "sms",
    "admin.add_provider_view": "providers",
    "admin.update_provider_view": "providers",
    "admin.enable_provider": "providers",
    "admin.disable_provider": "providers",
    "admin.delete_provider": "providers",
    "admin.update_user_details": "users",
    "admin.reset_user_factors": "users",
    "admin.lock_user_view": "users",
    "admin.unlock_user_view": "users",
    "admin.delete_user_view": "users",
    "admin.forget_user_devices": "users",
    "admin.set_user_password": "users",
    "admin.create_user_view": "users",
    "admin.resend_invitation": "users",
    "admin.end_user_session": "users",
    "admin.end_all_user_sessions": "users",
    "admin.remove_user_credential": "users",
    "admin.setup_user_credential": "users",
    "admin.verify_user_credential": "users",
    "admin.set_console_role": "admins",
    "admin.create_client_view": "clients",
    "admin.update_client_redirect_uris": "clients",
    "admin.update_client_resource_servers": "clients",
    "admin.update_client_grant_types": "clients",
    "admin.update_client_dpop": "clients",
    "admin.update_client_authentication": "clients",
    "admin.rotate_client_secret_view": "clients",
    "admin.delete_client_view": "clients",
    "admin.create_initial_access_token_view": "clients",
    "admin.revoke_initial_access_token_view": "clients",
    "admin.keep_client_view": "clients",
    "admin.create_api_key_view": "api_keys",
    "admin.revoke_api_key_view": "api_keys",
    "admin.create_webhook_view": "webhooks",
    "admin.update_webhook_view": "webhooks",
    "admin.test_webhook_view": "webhooks",
    "admin.redeliver_view": "webhooks",
    "admin.delete_webhook_view": "webhooks",
    "admin.create_organization_view": "organizations",
    "admin.update_organization_view": "organizations",
    "admin.delete_organization_view": "organizations",
    "admin.add_organization_domain": "organizations",
    "admin.remove_organization_domain": "organizations",
    "admin.add_organization_member": "organizations",
    "admin.update_organization_member": "organizations",
    "admin.remove_organization_member": "organizations",
    "admin.invite_to_organization_view": "organizations",
    "admin.revoke_organization_invitation": "organizations",
    "admin.create_role_view": "roles",
    "admin.update_role_view": "roles",
    "admin.delete_role_view": "roles",
    "admin.assign_role_view": "roles",
    "admin.unassign_role_view": "roles",
}
OPERATOR_AREAS = {"users", "clients", "organizations"}


def test_every_post_route_of_the_console_is_listed_with_its_area(app):
    found = {rule.endpoint: getattr(app.view_functions[rule.endpoint], "console_area", "none declared")
             for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith(("admin.", "admin_entry.")) and "POST" in rule.methods}
    assert found.pop("admin.logout") is None, "signing out is open to every role"
    assert found == POST_ROUTES


def _request(app, endpoint, ids):
    """The URL and the form a person would send to ``endpoint``."""
    values = {k: v for k, v in ids.items() if k in _arguments(app, endpoint)}
    if endpoint == "admin.change_sms_integration":
        values["integration_id"] = ids["twilio_integration_id"]
    if endpoint == "admin.resend_invitation":
        values["user_id"] = ids["invitee_id"]
    if endpoint == "admin.keep_client_view":
        values["client_id"] = ids["anonymous_client_id"]
    with app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, **values)
    prefix = {"admin.test_sms_integration": f"t{ids['integration_id']}-",
              "admin.change_sms_integration": f"s{ids['twilio_integration_id']}-"}.get(endpoint, "")
    data = {
        "admin.create_realm_view": {"name": "brand-new"},
        "admin.update_realm_settings": {"display_name": "Renamed", "mfa_enabled": "y", "mfa_login_form": "y",
                                        "theme": "default"},
        "admin.add_sms_integration": {"kind": "outbox", "name": "second"},
        "admin.test_sms_integration": {f"{prefix}phone": PHONE},
        "admin.change_sms_integration": {f"{prefix}account_sid": "AC" + "0" * 32,
                                         f"{prefix}from_number": "+14155550142"},
        "admin.update_user_details": {"mfa_enabled": "y", "phone": PHONE},
        "admin.delete_user_view": {"confirm": "y"},
        "admin.create_user_view": {"email": "new@example.com", "password_choice": "invite"},
        "admin.add_provider_view": {"kind": "google", "name": "google", "client_id": "idp", "mfa_mode": "skip",
                                    "enabled": "y"},
        "admin.update_provider_view": {"display_name": "Corp", "issuer": "https://sso.example.com",
                                       "client_id": "idp2", "scope": "openid", "mfa_mode": "require"},
        "admin.delete_provider": {"confirm": "y"},
        "admin.set_user_password": {"password": "a brand new passphrase"},
        "admin.set_console_role": {"role": "operator"},
        "admin.create_client_view": {"name": "New app", "redirect_uris": "https://new.example/cb"},
        "admin.update_client_redirect_uris": {"redirect_uris": "https://app.example/other"},
        "admin.update_client_resource_servers": {"resource_server_for": ids["other_client_id"]},
        "admin.update_client_grant_types": {"grant_types": ["authorization_code"]},
        "admin.update_client_dpop": {"dpop_required": "y"},
        "admin.update_client_authentication": {"token_endpoint_auth_method": "client_secret_basic",
                                               "require_signed_request_object": "y"},
        "admin.create_initial_access_token_view": {"note": "CI", "expires_in_hours": "1"},
        "admin.delete_client_view": {"confirm": "y"},
        "admin.create_api_key_view": {"name": "deploy", "scopes": ["users:read"]},
        "admin.verify_user_credential": {"code": _totp_now(ids.get("pending_totp_secret"))},
        "admin.create_webhook_view": {"url": "https://hooks.example.com/new", "enabled": "y"},
        "admin.update_webhook_view": {"url": "https://hooks.example.com/changed", "enabled": "y"},
        "admin.create_organization_view": {"name": "initech", "domains": "initech.example"},
        "admin.update_organization_view": {"display_name": "Globex Inc.", "default_role": "viewer"},
        "admin.add_organization_domain": {"domain": "globex.org", "auto_join": "y"},
        "admin.add_organization_member": {"email": "invitee@example.com", "roles": "viewer"},
        "admin.update_organization_member": {"roles": "viewer"},
        "admin.invite_to_organization_view": {"email": "carol@example.com", "role": "viewer"},
        "admin.create_role_view": {"name": "auditor", "permissions": "reports:read"},
        "admin.update_role_view": {"description": "Reads invoices", "permissions": "invoices:read\nreports:read"},
        "admin.assign_role_view": {"email": "invitee@example.com"},
    }.get(endpoint, {})
    return url, data, prefix


def _totp_now(secret):
    import pyotp

    return pyotp.TOTP(secret).now() if secret else ""


def _arguments(app, endpoint):
    return next(rule.arguments for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)


def _event_count(in_app):
    from idp.extensions import db
    from idp.models import AuditEvent

    with in_app():
        return db.session.scalar(db.select(db.func.count(AuditEvent.id)))


def _events_since(in_app, count):
    from idp.extensions import db
    from idp.models import AuditEvent

    with in_app():
        rows = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id).offset(count))
        return [(r.event_type, dict(r.details or {})) for r in rows]


def _realm_of(endpoint):
    """Console roles exist in the admin realm only; everything else is tried in acme."""
    return "admin" if POST_ROUTES[endpoint] == "admins" else "acme"


CASES = (
    [("viewer", endpoint, _realm_of(endpoint), False) for endpoint in POST_ROUTES]
    + [("operator", endpoint, _realm_of(endpoint), POST_ROUTES[endpoint] in OPERATOR_AREAS)
       for endpoint in POST_ROUTES]
    + [("operator", endpoint, "admin", False) for endpoint, area in POST_ROUTES.items() if area in OPERATOR_AREAS]
    + [("owner", endpoint, _realm_of(endpoint), True) for endpoint in POST_ROUTES]
)


@pytest.mark.parametrize("role,endpoint,realm,allowed", CASES,
                         ids=[f"{r}-{e.split('.')[1]}-{realm}" for r, e, realm, _ in CASES])
def test_each_role_may_post_only_to_its_areas(app, console, world, in_app, role, endpoint, realm, allowed):
    browser = console(role)
    url, data, prefix = _request(app, endpoint, world[realm])
    before = _event_count(in_app)

    response = browser.post(url, data, prefix=prefix, follow=False)
    changes = _events_since(in_app, before)

    if allowed:
        assert response.status_code in (200, 303), response.get_data(as_text=True)[:2000]
        assert changes, "every change is an audit event"
        assert all(details.get("by_admin") == f"{role}@example.com" for _, details in changes), changes
    else:
        assert response.status_code == 403
        page = response.get_data(as_text=True)
        assert re.search(rf"Your role \({role}\) cannot change [A-Za-z ]+", page)
        assert changes == [], "a refused request changes nothing"


READ_PAGES = ["/admin/realms/acme/organizations", "/admin/realms/acme/organizations/globex",
              "/admin/realms/acme/roles", "/admin/realms/acme/roles/viewer",
              "/admin/", "/admin/realms", "/admin/realms/acme", "/admin/realms/acme/sms-integrations",
              "/admin/realms/acme/providers", "/admin/realms/acme/providers/corp",
              "/admin/realms/acme/users", "/admin/realms/acme/users/{user_id}", "/admin/realms/acme/clients",
              "/admin/realms/acme/clients/{client_id}", "/admin/realms/acme/api-keys", "/admin/audit",
              "/admin/realms/acme/webhooks", "/admin/realms/acme/webhooks/{webhook_id}"]


def _post_forms(page: str) -> list[str]:
    return re.findall(r'<form method="post" action="([^"]+)"', page)


def test_a_viewer_reads_every_page_but_sees_no_control_that_changes_anything(console, world):
    browser = console("viewer")
    for path in READ_PAGES:
        browser.get(path.format(**world["acme"]))
        assert browser.status == 200, path
        assert _post_forms(browser.page) == ["/admin/logout"], path
        assert "Save" not in browser.text(), path


def test_an_operator_sees_user_and_client_controls_but_not_realm_sms_or_key_controls(console, world):
    browser = console("operator")
    expectations = {
        "/admin/realms": False, "/admin/realms/acme": False, "/admin/realms/acme/sms-integrations": False,
        "/admin/realms/acme/api-keys": False, "/admin/realms/acme/users/{user_id}": True,
        "/admin/realms/acme/providers": False, "/admin/realms/acme/providers/corp": False,
        "/admin/realms/acme/webhooks": False, "/admin/realms/acme/webhooks/{webhook_id}": False,
        "/admin/realms/acme/clients": True, "/admin/realms/acme/clients/{client_id}": True,
        "/admin/realms/acme/organizations/globex": True, "/admin/realms/acme/roles/viewer": False,
    }
    for path, has_controls in expectations.items():
        browser.get(path.format(**world["acme"]))
        assert (len(_post_forms(browser.page)) > 1) is has_controls, path
    browser.get("/admin/realms/admin/users/{user_id}".format(**world["admin"]))
    assert _post_forms(browser.page) == ["/admin/logout"], "the admin realm is the owners' alone"


def test_realm_settings_page_of_a_viewer_shows_the_switches_disabled(console, world):
    browser = console("viewer")
    browser.get("/admin/realms/acme")
    checkboxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', browser.page)
    assert checkboxes and all("disabled" in box for box in checkboxes)
    assert "Your role can read these settings but not change them." in browser.text()
