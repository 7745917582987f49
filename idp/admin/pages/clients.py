"""Clients of a realm: create (the secret is shown once), edit redirect URIs and the apps a
client is a resource server of (whose tokens it may introspect), rotate the secret (shown once),
delete."""
from __future__ import annotations

from ...services import NotFound
from ...services.client_registration import (
    create_initial_access_token,
    keep_registered_client,
    list_initial_access_tokens,
    revoke_initial_access_token,
)
from ...services.clients import (
    create_client,
    delete_client,
    get_client,
    list_clients,
    rotate_client_secret,
    set_client_grant_types,
    set_client_requires_dpop,
    set_redirect_uris,
    set_resource_server_for,
)
from ...services.grant_types import registered_grant_types
from .. import admin_bp
from ..console import apply_change, done, managed_realm, render, requires
from ..forms import (
    ButtonForm,
    ClientAuthenticationForm,
    ClientCreateForm,
    ConfirmDeleteForm,
    DPoPForm,
    GrantTypesForm,
    InitialAccessTokenForm,
    RedirectUrisForm,
    ResourceServerForm,
    lines,
)

#: Service field names -> form field names.
ALIASES = {"redirect_uri": "redirect_uris", "public": "public"}


def _list_page(realm, form=None, status=200, token_form=None):
    return render("clients.html", status=status, realm=realm, clients=list_clients(realm),
                  form=form or ClientCreateForm(formdata=None), page_title=f"{realm.display_name}: clients",
                  token_form=token_form or InitialAccessTokenForm(formdata=None),
                  initial_tokens=list_initial_access_tokens(realm), button_form=ButtonForm())


@admin_bp.get("/realms/<realm_name>/clients")
def clients():
    return _list_page(managed_realm())


def _secret_page(realm, client, secret, heading):
    """The one time a client secret is shown; the response is not cached (``no-store``)."""
    return render("client_secret.html", realm=realm, client=client, secret=secret, heading=heading,
                  page_title=heading)


@admin_bp.post("/realms/<realm_name>/clients")
@requires("clients")
def create_client_view():
    realm = managed_realm()
    form = ClientCreateForm()
    created = {}

    def change():
        client, secret = create_client(
            realm, name=form.name.data, redirect_uris=lines(form.redirect_uris.data),
            post_logout_redirect_uris=lines(form.post_logout_redirect_uris.data), public=bool(form.public.data),
            first_party=not form.third_party.data)
        created.update(client=client, secret=secret)

    if form.validate() and apply_change(form, change, aliases=ALIASES):
        client = created["client"]
        if created["secret"] is None:
            return done(f"Client {client.name} created. It is public: it has no secret.", "admin.client_details",
                        client_id=client.client_id)
        return _secret_page(realm, client, created["secret"], f"Client {client.name} created")
    return _list_page(realm, form, status=400)


def _grant_types_form(client=None) -> GrantTypesForm:
    form = GrantTypesForm() if client is None else GrantTypesForm(formdata=None,
                                                                   grant_types=list(client.grant_types or []))
    form.grant_types.choices = [(g.grant_type, g.grant_type) for g in registered_grant_types().values()]
    return form


def _authentication_form(client) -> ClientAuthenticationForm:
    import json

    method = client.token_endpoint_auth_method
    return ClientAuthenticationForm(
        formdata=None, token_endpoint_auth_method="client_secret_basic" if method == "client_secret_post" else method,
        jwks=json.dumps(client.jwks, indent=2) if client.jwks else "", jwks_uri=client.jwks_uri or "",
        require_signed_request_object=bool(client.require_signed_request_object))


def _client_page(realm, client, *, uris_form=None, resource_form=None, grants_form=None, delete_form=None,
                 authentication_form=None, dpop_form=None, errors=(), status=200):
    if uris_form is None:
        uris_form = RedirectUrisForm(formdata=None, redirect_uris="\n".join(client.redirect_uris or []),
                                     post_logout_redirect_uris="\n".join(client.post_logout_redirect_uris or []))
    if resource_form is None:
        resource_form = ResourceServerForm(
            formdata=None, resource_server_for="\n".join(c.client_id for c in client.resource_server_for))
    return render("client.html", status=status, realm=realm, client=client, uris_form=uris_form,
                  resource_form=resource_form, grants_form=grants_form or _grant_types_form(client),
                  grant_types=registered_grant_types(),
                  authentication_form=authentication_form or _authentication_form(client),
                  dpop_form=dpop_form or DPoPForm(formdata=None, dpop_required=client.dpop_bound_access_tokens),
                  delete_form=delete_form or ConfirmDeleteForm(formdata=None), button_form=ButtonForm(formdata=None),
                  errors=list(errors), page_title=f"{client.name}: client")


def _client(client_id: str):
    realm = managed_realm()
    if len(client_id) > 64:
        raise NotFound("That client does not exist.")
    return realm, get_client(realm, client_id)


@admin_bp.get("/realms/<realm_name>/clients/<client_id>")
def client_details(client_id):
    realm, client = _client(client_id)
    return _client_page(realm, client)


@admin_bp.post("/realms/<realm_name>/clients/<client_id>/redirect-uris")
@requires("clients")
def update_client_redirect_uris(client_id):
    realm, client = _client(client_id)
    form = RedirectUrisForm()

    def change():
        set_redirect_uris(client, lines(form.redirect_uris.data), lines(form.post_logout_redirect_uris.data))

    if form.validate() and apply_change(form, change, aliases=ALIASES):
        return done("Redirect URIs saved.", "admin.client_details", client_id=client_id)
    return _client_page(realm, client, uris_form=form, status=400)


@admin_bp.post("/realms/<realm_name>/clients/<client_id>/grant-types")
@requires("clients")
def update_client_grant_types(client_id):
    realm, client = _client(client_id)
    form = _grant_types_form()

    def change():
        set_client_grant_types(client, list(form.grant_types.data or []))

    if form.validate() and apply_change(form, change):
        return done("Grant types saved.", "admin.client_details", client_id=client_id)
    return _client_page(realm, client, grants_form=form, status=400)


@admin_bp.post("/realms/<realm_name>/clients/<client_id>/authentication")
@requires("clients")
def update_client_authentication(client_id):
    from ...services.client_authentication import set_client_authentication

    realm, client = _client(client_id)
    form = ClientAuthenticationForm()
    issued = {}

    def change():
        issued["secret"] = set_client_authentication(
            client, form.token_endpoint_auth_method.data, jwks=(form.jwks.data or "").strip() or None,
            jwks_uri=(form.jwks_uri.data or "").strip() or None,
            require_signed_request_object=bool(form.require_signed_request_object.data))

    if not client.public and form.validate() and apply_change(form, change):
        if issued["secret"]:
            return _secret_page(realm, client, issued["secret"], f"New secret for {client.name}")
        return done("Authentication saved.", "admin.client_details", client_id=client_id)
    return _client_page(realm, client, authentication_form=form, status=400)


@admin_bp.post("/realms/<realm_name>/clients/<client_id>/dpop")
@requires("clients")
def update_client_dpop(client_id):
    realm, client = _client(client_id)
    form = DPoPForm()

    def change():
        set_client_requires_dpop(client, bool(form.dpop_required.data))

    if form.validate() and apply_change(form, change):
        return done("DPoP setting saved.", "admin.client_details", client_id=client_id)
    return _client_page(realm, client, dpop_form=form, status=400)


@admin_bp.post("/realms/<realm_name>/clients/<client_id>/resource-servers")
@requires("clients")
def update_client_resource_servers(client_id):
    realm, client = _client(client_id)
    form = ResourceServerForm()

    def change():
        set_resource_server_for(client, lines(form.resource_server_for.data))

    if form.validate() and apply_change(form, change):
        return done("Introspection rights saved.", "admin.client_details", client_id=client_id)
    return _client_page(realm, client, resource_form=form, status=400)


@admin_bp.post("/realms/<realm_name>/clients/<client_id>/rotate-secret")
@requires("clients")
def rotate_client_secret_view(client_id):
    realm, client = _client(client_id)
    form = ButtonForm()
    rotated = {}

    def change():
        rotated["secret"] = rotate_client_secret(client)

    if apply_change(form, change):
        return _secret_page(realm, client, rotated["secret"], f"New secret for {client.name}")
    return _client_page(realm, client, errors=form.form_errors, status=409)


@admin_bp.post("/realms/<realm_name>/clients/<client_id>/delete")
@requires("clients")
def delete_client_view(client_id):
    realm, client = _client(client_id)
    form = ConfirmDeleteForm()
    name = client.name

    def change():
        delete_client(client)

    if form.validate() and apply_change(form, change):
        return done(f"Client {name} was deleted.", "admin.clients")
    return _client_page(realm, client, delete_form=form, status=400)


@admin_bp.post("/realms/<realm_name>/clients/initial-access-tokens")
@requires("clients")
def create_initial_access_token_view():
    """An initial access token for dynamic client registration, shown once."""
    realm = managed_realm()
    form = InitialAccessTokenForm()
    created = {}

    def change():
        row, token = create_initial_access_token(realm, expires_in=form.expires_in_hours.data * 3600,
                                                 max_uses=form.max_uses.data, note=form.note.data or "")
        created.update(row=row, token=token)

    if form.validate() and apply_change(form, change, aliases={"expires_in": "expires_in_hours"}):
        return render("initial_access_token.html", realm=realm, row=created["row"], token=created["token"],
                      page_title="Initial access token created")
    return _list_page(realm, token_form=form, status=400)


@admin_bp.post("/realms/<realm_name>/clients/initial-access-tokens/<int:token_id>/revoke")
@requires("clients")
def revoke_initial_access_token_view(token_id):
    realm = managed_realm()
    form = ButtonForm()
    if form.validate() and apply_change(form, lambda: revoke_initial_access_token(realm, token_id)):
        return done("Initial access token revoked. Clients registered with it stay.", "admin.clients")
    return _list_page(realm, status=400)


@admin_bp.post("/realms/<realm_name>/clients/<client_id>/keep")
@requires("clients")
def keep_client_view(client_id):
    """An anonymously self-registered client no longer expires."""
    _realm, client = _client(client_id)
    form = ButtonForm()
    if form.validate() and apply_change(form, lambda: keep_registered_client(client)):
        return done(f"{client.name} is kept: it no longer expires.", "admin.client_details", client_id=client.client_id)
    return done("The request expired; try again.", "admin.client_details", client_id=client.client_id)
