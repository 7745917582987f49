"""Realms: the list, a new realm, and a realm's settings with the MFA rules of roq-mfa.txt
explained next to the switches they constrain."""
from __future__ import annotations

from flask import current_app, request
from wtforms.fields.choices import SelectChoice

from ...extensions import db
from ...services.audit import record_event
from ...services.mfa_policy import active_sms_integrations
from ...services.realm_settings import GROUP_HELP, REALM_SETTINGS, settings_layout, settings_of_kind
from ...services.realms import ADMIN_REALM, create_realm, list_realms, update_realm
from ...themes import theme_manifest, theme_names
from .. import admin_bp
from ..accounts import ADMIN_REALM_LOCKED_ON, check_admin_realm_settings
from ..console import apply_change, done, managed_realm, render, requires
from ..forms import RealmCreateForm, RealmSettingsForm


def _realms_page(form, status=200):
    return render("realms.html", status=status, realms=list_realms(), form=form, page_title="Realms")


@admin_bp.get("/realms")
def realms():
    return _realms_page(RealmCreateForm(formdata=None))


@admin_bp.post("/realms")
@requires("realms")
def create_realm_view():
    form = RealmCreateForm()
    created = {}

    def change():
        realm = create_realm((form.name.data or "").strip(), display_name=(form.display_name.data or "").strip() or None)
        record_event("realm.created", realm=realm, name=realm.name)
        created["realm"] = realm

    if form.validate() and apply_change(form, change):
        realm = created["realm"]
        return done(f"Realm {realm.name} created.", "admin.realm_settings", realm_name=realm.name)
    return _realms_page(form, status=400)


def theme_choices() -> list[SelectChoice]:
    return [SelectChoice(name, str(theme_manifest(name).get("display_name") or name)) for name in theme_names()]


def _settings_form(realm, formdata=None) -> RealmSettingsForm:
    form = RealmSettingsForm(formdata=formdata, obj=None if formdata is not None else realm)
    if formdata is None:
        for name in settings_of_kind("countries"):
            form[name].data = ", ".join(getattr(realm, name) or [])
    form.theme.choices = theme_choices()
    if realm.theme not in [choice.value for choice in form.theme.choices]:
        form.theme.choices.append(SelectChoice(realm.theme, realm.theme))
    return form


def _rules(realm) -> dict:
    """Why a switch cannot be used now, by field name: shown next to it, and the control is
    disabled (so a browser does not send it, and the setting keeps its value). The service
    refuses the same change if it is forced."""
    reasons = {}
    has_integration = bool(active_sms_integrations(realm))
    if not has_integration and not realm.sms_enabled:
        reasons["sms_enabled"] = ("SMS codes cannot be turned on: this realm has no active SMS integration. "
                                  "Add one and activate it under SMS integrations first.")
    if realm.name == ADMIN_REALM:
        for name in ADMIN_REALM_LOCKED_ON:
            reasons[name] = "Always on in the admin realm: the console requires a second factor."
        reasons["registration_enabled"] = "Administrators are added with 'idp admins create'."
    return reasons


def _warnings(realm) -> list[str]:
    warnings = []
    if realm.mfa_enabled and not (realm.sms_enabled or realm.totp_enabled):
        warnings.append("Two-factor authentication is on, but neither SMS codes nor authenticator apps are: "
                        "nobody can be asked for a second factor until you turn one on.")
    if not realm.mfa_enabled and (realm.mfa_login_form or realm.mfa_registration_form or realm.mfa_required):
        warnings.append("The master switch is off, so the form settings below have no effect: users are not "
                        "asked for a second factor, even if they have two-factor authentication on.")
    return warnings


def _server_defaults() -> dict:
    """Help for the settings whose empty value is the server's default, saying what it is."""
    settings = current_app.extensions["idp.settings"]
    return {setting.name: f"Empty: the server default, {setting.default_from(settings)} {setting.unit}."
            for setting in REALM_SETTINGS if setting.nullable}


def _settings_page(realm, form, status=200):
    """Every realm setting (``services.realm_settings``), grouped as the list groups them."""
    return render("realm_settings.html", status=status, realm=realm, form=form, rules=_rules(realm),
                  warnings=_warnings(realm), integrations_active=active_sms_integrations(realm),
                  layout=settings_layout(), group_help=GROUP_HELP, default_help=_server_defaults(),
                  page_title=f"{realm.display_name}: settings")


@admin_bp.get("/realms/<realm_name>")
def realm_settings():
    realm = managed_realm()
    return _settings_page(realm, _settings_form(realm))


@admin_bp.post("/realms/<realm_name>")
@requires("realms")
def update_realm_settings():
    realm = managed_realm()
    form = _settings_form(realm, formdata=request.form)
    blocked = _rules(realm)

    def change():
        changes = form.changes()
        for name in blocked:
            if name not in request.form:
                changes[name] = getattr(realm, name)
        check_admin_realm_settings(realm, changes)
        before = {key: getattr(realm, key) for key in changes}
        update_realm(realm, **changes)
        changed = {key: getattr(realm, key) for key in changes if getattr(realm, key) != before[key]}
        if changed:
            record_event("realm.settings_changed", realm=realm, changes=changed)

    if form.validate() and apply_change(form, change):
        return done("Settings saved.", "admin.realm_settings")
    db.session.rollback()
    return _settings_page(realm, form, status=400)
