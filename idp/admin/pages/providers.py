"""A realm's login providers (social and enterprise OpenID Connect): list, add, edit every
setting including what a login through them must do about our second factor, enable, disable,
delete. The same service functions as ``idp providers ...``."""
from __future__ import annotations

from ...social.providers import (
    add_provider,
    describe,
    get_provider,
    list_providers,
    remove_provider,
    set_provider_enabled,
    update_provider,
)
from ...social.views import callback_uri
from .. import admin_bp
from ..console import apply_change, done, managed_realm, render, requires
from ..forms import ButtonForm, ConfirmDeleteForm, ProviderAddForm, ProviderSettingsForm, mfa_values

MFA_MODE_NAMES = {"skip": "Skip", "upstream": "Upstream", "require": "Require"}


def _callback_url(realm) -> str:
    return callback_uri(realm)


def _list_page(realm, form=None, status=200):
    return render("providers.html", status=status, realm=realm, providers=list_providers(realm),
                  form=form or ProviderAddForm(formdata=None, enabled=True), button_form=ButtonForm(formdata=None),
                  mfa_mode_names=MFA_MODE_NAMES, callback_url=_callback_url(realm),
                  page_title=f"{realm.display_name}: login providers")


@admin_bp.get("/realms/<realm_name>/providers")
def providers():
    return _list_page(managed_realm())


@admin_bp.post("/realms/<realm_name>/providers")
@requires("providers")
def add_provider_view():
    realm = managed_realm()
    form = ProviderAddForm()

    def change():
        add_provider(realm, kind=form.kind.data, name=(form.name.data or "").strip(),
                     issuer=(form.issuer.data or "").strip() or None, client_id=(form.client_id.data or "").strip(),
                     client_secret=form.client_secret.data or None, scope=(form.scope.data or "").strip() or None,
                     display_name=(form.display_name.data or "").strip() or None, mfa_mode=form.mfa_mode.data,
                     upstream_mfa_amr=mfa_values(form.upstream_mfa_amr.data) or None,
                     upstream_mfa_acr=mfa_values(form.upstream_mfa_acr.data) or None,
                     trust_email={"on": True, "off": False}.get(form.trust_email.data),
                     enabled=bool(form.enabled.data))

    if form.validate() and apply_change(form, change):
        return done(f"Provider {form.name.data.strip()} added. Register {_callback_url(realm)} as its redirect URI.",
                    "admin.provider_details", name=form.name.data.strip())
    return _list_page(realm, form, status=400)


def _provider_page(realm, row, *, form=None, delete_form=None, status=200):
    info = describe(row)
    if form is None:
        form = ProviderSettingsForm(formdata=None, display_name=row.display_name, issuer=row.issuer or "",
                                    client_id=row.client_id, scope=row.scope, mfa_mode=row.mfa_mode,
                                    upstream_mfa_amr="\n".join(info["upstream_mfa_amr"]),
                                    upstream_mfa_acr="\n".join(info["upstream_mfa_acr"]),
                                    trust_email=info["trust_email"], enabled=row.enabled)
    return render("provider.html", status=status, realm=realm, provider=row, form=form,
                  has_secret=row.client_secret_encrypted is not None, callback_url=_callback_url(realm),
                  delete_form=delete_form or ConfirmDeleteForm(formdata=None), button_form=ButtonForm(formdata=None),
                  page_title=f"{row.display_name}: login provider")


@admin_bp.get("/realms/<realm_name>/providers/<name>")
def provider_details(name):
    realm = managed_realm()
    return _provider_page(realm, get_provider(realm, name[:64]))


@admin_bp.post("/realms/<realm_name>/providers/<name>")
@requires("providers")
def update_provider_view(name):
    """Every field is sent; an empty client secret keeps the stored one."""
    realm = managed_realm()
    row = get_provider(realm, name[:64])
    form = ProviderSettingsForm()

    def change():
        update_provider(row, display_name=form.display_name.data or "",
                        issuer=(form.issuer.data or "").strip() if row.kind != "github" else None,
                        client_id=form.client_id.data or "", client_secret=form.client_secret.data or None,
                        scope=form.scope.data or "", mfa_mode=form.mfa_mode.data,
                        upstream_mfa_amr=mfa_values(form.upstream_mfa_amr.data),
                        upstream_mfa_acr=mfa_values(form.upstream_mfa_acr.data),
                        trust_email=bool(form.trust_email.data), enabled=bool(form.enabled.data))

    if form.validate() and apply_change(form, change):
        return done(f"Provider {row.name} saved.", "admin.provider_details", name=row.name)
    return _provider_page(realm, row, form=form, status=400)


def _switch(name: str, enabled: bool):
    realm = managed_realm()
    row = get_provider(realm, name[:64])
    form = ButtonForm()
    if apply_change(form, lambda: set_provider_enabled(row, enabled)):
        return done(f"Provider {row.name} is {'enabled' if enabled else 'disabled'}.", "admin.providers")
    return _list_page(realm, status=409)


@admin_bp.post("/realms/<realm_name>/providers/<name>/enable")
@requires("providers")
def enable_provider(name):
    return _switch(name, True)


@admin_bp.post("/realms/<realm_name>/providers/<name>/disable")
@requires("providers")
def disable_provider(name):
    return _switch(name, False)


@admin_bp.post("/realms/<realm_name>/providers/<name>/delete")
@requires("providers")
def delete_provider(name):
    """The provider and every account link through it go; the accounts stay."""
    realm = managed_realm()
    row = get_provider(realm, name[:64])
    form = ConfirmDeleteForm()
    provider_name = row.name
    if form.validate() and apply_change(form, lambda: remove_provider(row)):
        return done(f"Provider {provider_name} was deleted.", "admin.providers")
    return _provider_page(realm, row, delete_form=form, status=400)
