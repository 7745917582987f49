"""A realm's SMS integrations (roq-mfa.txt "Enable SMS integrations"): add (credentials
stored encrypted), test-send, activate, deactivate, remove."""
from __future__ import annotations

from ...extensions import db
from ...models import SmsIntegration
from ...services import NotFound
from ...services import sms_integrations as integrations
from ...services.mfa_policy import active_sms_integrations
from ...sms.registry import registry as sms_registry
from .. import admin_bp
from ..console import apply_change, done, managed_realm, render, requires
from ..forms import ButtonForm, SmsTestSendForm, sms_integration_form, sms_settings_form
from ..operations import send_test_sms


def _integration(realm, integration_id: int) -> SmsIntegration:
    row = db.session.get(SmsIntegration, integration_id)
    if row is None or row.realm_id != realm.id:
        raise NotFound("That SMS integration does not exist in this realm.")
    return row


def _page(realm, *, form=None, test_forms=None, settings_forms=None, errors=(), status=200):
    rows = integrations.list_integrations(realm)
    test_forms = test_forms or {}
    settings_forms = settings_forms or {}
    for row in rows:
        test_forms.setdefault(row.id, SmsTestSendForm(formdata=None, prefix=f"t{row.id}"))
        spec = sms_registry().get(row.kind)
        if spec is not None and spec.fields and row.id not in settings_forms:
            settings_forms[row.id] = sms_settings_form(spec)(formdata=None, prefix=f"s{row.id}",
                                                             data=spec.describe(row.settings or {}))
    return render("sms_integrations.html", status=status, realm=realm, integrations=rows,
                  summary=integrations.summary, provider_label=integrations.provider_label,
                  providers=sms_registry().all(), providers_by_kind={p.kind: p for p in sms_registry().all()},
                  form=form or sms_integration_form(sms_registry().all())(formdata=None),
                  test_forms=test_forms, settings_forms=settings_forms, button_form=ButtonForm(formdata=None),
                  active_count=len(active_sms_integrations(realm)), errors=list(errors),
                  page_title=f"{realm.display_name}: SMS integrations")


@admin_bp.get("/realms/<realm_name>/sms-integrations")
def sms_integrations():
    return _page(managed_realm())


@admin_bp.post("/realms/<realm_name>/sms-integrations")
@requires("sms")
def add_sms_integration():
    realm = managed_realm()
    form = sms_integration_form(sms_registry().all())()

    def change():
        spec = sms_registry().get(form.kind.data)
        integrations.add_integration(realm, kind=form.kind.data, name=form.name.data, active=form.active.data,
                                     **{f.name: form[f.name].data or None for f in spec.fields})

    if form.validate() and apply_change(form, change):
        return done(f"SMS integration {form.name.data.strip()} added.", "admin.sms_integrations")
    return _page(realm, form=form, status=400)


def _row_action(integration_id: int, action, message: str):
    realm = managed_realm()
    row = _integration(realm, integration_id)
    name = row.name
    form = ButtonForm()
    if apply_change(form, lambda: action(row)):
        return done(message.format(name=name), "admin.sms_integrations")
    return _page(realm, errors=form.form_errors, status=409)


@admin_bp.post("/realms/<realm_name>/sms-integrations/<int(max=2147483647):integration_id>/activate")
@requires("sms")
def activate_sms_integration(integration_id):
    return _row_action(integration_id, integrations.activate_integration, "{name} is active.")


@admin_bp.post("/realms/<realm_name>/sms-integrations/<int(max=2147483647):integration_id>/deactivate")
@requires("sms")
def deactivate_sms_integration(integration_id):
    return _row_action(integration_id, integrations.deactivate_integration, "{name} is no longer active.")


@admin_bp.post("/realms/<realm_name>/sms-integrations/<int(max=2147483647):integration_id>/remove")
@requires("sms")
def remove_sms_integration(integration_id):
    return _row_action(integration_id, integrations.remove_integration, "{name} was removed.")


@admin_bp.post("/realms/<realm_name>/sms-integrations/<int(max=2147483647):integration_id>/test")
@requires("sms")
def test_sms_integration(integration_id):
    realm = managed_realm()
    row = _integration(realm, integration_id)
    form = SmsTestSendForm(prefix=f"t{integration_id}")
    if form.validate() and apply_change(form, lambda: send_test_sms(row, form.phone.data)):
        return done(f"Test message sent through {row.name}.", "admin.sms_integrations")
    return _page(realm, test_forms={integration_id: form}, status=400)


@admin_bp.post("/realms/<realm_name>/sms-integrations/<int(max=2147483647):integration_id>/settings")
@requires("sms")
def change_sms_integration(integration_id):
    realm = managed_realm()
    row = _integration(realm, integration_id)
    spec = sms_registry().get(row.kind)
    if spec is None or not spec.fields:
        raise NotFound("That SMS integration has no settings to change here.")
    form = sms_settings_form(spec)(prefix=f"s{integration_id}")

    def change():
        integrations.change_integration(row, **{f.name: form[f.name].data or "" for f in spec.fields})

    if form.validate() and apply_change(form, change):
        return done(f"Settings of {row.name} saved.", "admin.sms_integrations")
    return _page(realm, settings_forms={integration_id: form}, status=400)
