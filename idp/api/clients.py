"""Clients (relying apps) of a realm: register one (its secret is in that answer only), read,
change redirect URIs, grant types and which clients' tokens it may introspect, rotate the
secret, delete. The rules are ``services.clients``', the same as ``idp clients``."""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..services import NotFound
from ..services.client_authentication import CONFIDENTIAL_AUTH_METHODS, UNCHANGED, set_client_authentication
from ..services.clients import (
    create_client,
    delete_client,
    get_client,
    list_clients,
    rotate_client_secret,
    update_client,
)
from ..services.keys import ID_TOKEN_ALGORITHMS
from . import api_bp
from .management import created
from .parameters import Field, body_fields, path_text
from .representations import client_json, created_client_json

URIS = Field("strings", max_length=2000, max_items=50)
#: How the client authenticates and its public keys (``services.client_authentication``).
AUTHENTICATION_FIELDS = {
    "token_endpoint_auth_method": Field(choices=CONFIDENTIAL_AUTH_METHODS, max_length=32),
    "jwks": Field("object", nullable=True),
    "jwks_uri": Field(max_length=2000, nullable=True),
    "require_signed_request_object": Field("boolean"),
}
GRANTS = Field("strings", max_length=64, max_items=10)
CLIENT_IDS = Field("strings", max_length=64, max_items=100)


def _client(client_id: str):
    if path_text(client_id, 64) is None:
        raise NotFound("That client does not exist.")
    return get_client(g.realm, client_id)


@api_bp.get("/realms/<realm_name>/clients")
def list_clients_view():
    return jsonify(clients=[client_json(c) for c in list_clients(g.realm)])


@api_bp.post("/realms/<realm_name>/clients")
def create_client_view():
    """Without ``grant_types``: the code grant and refresh tokens when there are redirect URIs,
    and client_credentials for a confidential client."""
    fields = body_fields({
        "name": Field(required=True, max_length=200),
        "redirect_uris": URIS,
        "post_logout_redirect_uris": URIS,
        "public": Field("boolean"),
        "first_party": Field("boolean"),
        "grant_types": GRANTS,
        "id_token_signed_response_alg": Field(choices=tuple(ID_TOKEN_ALGORITHMS), max_length=16),
        "client_id": Field(max_length=64),
        "theme": Field(max_length=64),
        "resource_server_for": CLIENT_IDS,
        **AUTHENTICATION_FIELDS,
        "dpop_bound_access_tokens": Field("boolean"),
    })
    client, secret = create_client(
        g.realm, name=fields["name"], redirect_uris=fields.get("redirect_uris", []),
        post_logout_redirect_uris=fields.get("post_logout_redirect_uris", []), public=fields.get("public", False),
        first_party=fields.get("first_party", True), grant_types=fields.get("grant_types"),
        id_token_signed_response_alg=fields.get("id_token_signed_response_alg", "RS256"),
        client_id=fields.get("client_id"), theme=fields.get("theme"),
        resource_server_for=fields.get("resource_server_for"),
        token_endpoint_auth_method=fields.get("token_endpoint_auth_method"), jwks=fields.get("jwks"),
        jwks_uri=fields.get("jwks_uri"),
        require_signed_request_object=fields.get("require_signed_request_object", False),
        dpop_bound_access_tokens=fields.get("dpop_bound_access_tokens", False))
    db.session.commit()
    return created(created_client_json(client, secret))


@api_bp.get("/realms/<realm_name>/clients/<client_id>")
def get_client_view(client_id):
    return jsonify(client_json(_client(client_id)))


@api_bp.patch("/realms/<realm_name>/clients/<client_id>")
def update_client_view(client_id):
    """Each list replaces the one before; what is absent stays. ``resource_server_for``: the
    clients whose tokens this one may introspect, as an API that receives them (``[]`` clears
    it). Redirect URIs are applied before the grant types that need them. A change of
    ``token_endpoint_auth_method`` that issues a new secret answers with it, once."""
    client = _client(client_id)
    fields = body_fields({
        "name": Field(max_length=200),
        "redirect_uris": URIS,
        "post_logout_redirect_uris": URIS,
        "grant_types": GRANTS,
        "resource_server_for": CLIENT_IDS,
        "organization_required": Field("boolean"),
        **AUTHENTICATION_FIELDS,
        "dpop_bound_access_tokens": Field("boolean"),
    })
    organization_required = fields.pop("organization_required", None)
    authentication = {name: fields.pop(name) for name in AUTHENTICATION_FIELDS if name in fields}
    update_client(client, **fields)
    if organization_required is not None:
        from ..services.organizations import set_client_organization_required

        set_client_organization_required(client, organization_required)
    secret = None
    if authentication:
        secret = set_client_authentication(
            client, authentication.get("token_endpoint_auth_method", UNCHANGED),
            jwks=authentication.get("jwks", UNCHANGED), jwks_uri=authentication.get("jwks_uri", UNCHANGED),
            require_signed_request_object=authentication.get("require_signed_request_object"))
    db.session.commit()
    return jsonify(created_client_json(client, secret) if secret else client_json(client))


@api_bp.delete("/realms/<realm_name>/clients/<client_id>")
def delete_client_view(client_id):
    """The client's tokens end with it."""
    delete_client(_client(client_id))
    db.session.commit()
    return "", 204


@api_bp.post("/realms/<realm_name>/clients/<client_id>/secret")
def rotate_client_secret_view(client_id):
    """A new secret, in this answer only; the old one stops working at once."""
    client = _client(client_id)
    body_fields({})
    secret = rotate_client_secret(client)
    db.session.commit()
    return jsonify(created_client_json(client, secret))
