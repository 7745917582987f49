"""API keys of a realm for the management API: create with scopes and an optional expiry (the
secret is shown once), revoke."""
from __future__ import annotations

from ...extensions import db
from ...models import ApiKey
from ...services import NotFound
from ...services.api_keys import create_api_key, list_api_keys, parse_expiry, revoke_api_key
from .. import admin_bp
from ..console import apply_change, done, managed_realm, render, requires
from ..forms import ApiKeyForm, ButtonForm


def _page(realm, form=None, errors=(), status=200):
    return render("api_keys.html", status=status, realm=realm, keys=list_api_keys(realm),
                  form=form or ApiKeyForm(formdata=None), button_form=ButtonForm(formdata=None), errors=list(errors),
                  page_title=f"{realm.display_name}: API keys")


@admin_bp.get("/realms/<realm_name>/api-keys")
def api_keys():
    return _page(managed_realm())


@admin_bp.post("/realms/<realm_name>/api-keys")
@requires("api_keys")
def create_api_key_view():
    realm = managed_realm()
    form = ApiKeyForm()
    created = {}

    def change():
        expires_at = parse_expiry(form.expires.data) if (form.expires.data or "").strip() else None
        created["key"], created["secret"] = create_api_key(realm, form.name.data, scopes=form.scopes.data,
                                                           expires_at=expires_at)

    if form.validate() and apply_change(form, change, aliases={"expires_at": "expires"}):
        return render("api_key_secret.html", realm=realm, key=created["key"], secret=created["secret"],
                      page_title=f"API key {created['key'].name} created")
    return _page(realm, form, status=400)


@admin_bp.post("/realms/<realm_name>/api-keys/<int(max=2147483647):key_id>/revoke")
@requires("api_keys")
def revoke_api_key_view(key_id):
    realm = managed_realm()
    key = db.session.get(ApiKey, key_id)
    if key is None or key.realm_id != realm.id:
        raise NotFound("That API key does not exist in this realm.")
    name = key.name
    form = ButtonForm()
    if apply_change(form, lambda: revoke_api_key(realm, name)):
        return done(f"API key {name} revoked.", "admin.api_keys")
    return _page(realm, errors=form.form_errors, status=409)
