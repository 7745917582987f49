"""Upstream identity providers of a realm (social and enterprise OpenID Connect): add, read,
change (MFA mode and every other ``idp providers add`` option), enable or disable, remove.
The client secret is write-only; ``has_client_secret`` says whether one is stored."""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..services import NotFound
from ..social.providers import (
    KINDS,
    MFA_MODES,
    add_provider,
    get_provider,
    list_providers,
    remove_provider,
    update_provider,
)
from . import api_bp
from .management import created
from .parameters import Field, body_fields, path_text
from .representations import provider_json

MFA_VALUES = Field("strings", max_length=200, max_items=20)
CHANGEABLE = {
    "display_name": Field(max_length=100),
    "issuer": Field(max_length=500),
    "client_id": Field(max_length=500),
    "client_secret": Field(nullable=True, max_length=2000),
    "scope": Field(max_length=500),
    "mfa_mode": Field(choices=MFA_MODES, max_length=16),
    "upstream_mfa_amr": MFA_VALUES,
    "upstream_mfa_acr": MFA_VALUES,
    "trust_email": Field("boolean"),
    "enabled": Field("boolean"),
}


def _provider(name: str):
    if path_text(name, 64) is None:
        raise NotFound("That provider does not exist.")
    return get_provider(g.realm, name)


@api_bp.get("/realms/<realm_name>/providers")
def list_providers_view():
    return jsonify(providers=[provider_json(row) for row in list_providers(g.realm)])


@api_bp.post("/realms/<realm_name>/providers")
def add_provider_view():
    """The same rules as ``idp providers add``: the kind's preset fills the issuer, scope and
    display name when absent; ``upstream`` MFA mode without values allows amr ``mfa``."""
    fields = body_fields({
        "kind": Field(required=True, choices=KINDS, max_length=16),
        "name": Field(required=True, max_length=64),
        **CHANGEABLE,
        "client_id": Field(required=True, max_length=500),
    })
    row = add_provider(
        g.realm, kind=fields["kind"], name=fields["name"], client_id=fields["client_id"],
        client_secret=fields.get("client_secret"), issuer=fields.get("issuer"), scope=fields.get("scope"),
        mfa_mode=fields.get("mfa_mode", "skip"), display_name=fields.get("display_name"),
        enabled=fields.get("enabled", True), upstream_mfa_amr=fields.get("upstream_mfa_amr"),
        upstream_mfa_acr=fields.get("upstream_mfa_acr"), trust_email=fields.get("trust_email"))
    db.session.commit()
    return created(provider_json(row))


@api_bp.get("/realms/<realm_name>/providers/<provider_name>")
def get_provider_view(provider_name):
    return jsonify(provider_json(_provider(provider_name)))


@api_bp.patch("/realms/<realm_name>/providers/<provider_name>")
def update_provider_view(provider_name):
    """What is absent stays; ``[]`` clears an MFA allow-list; ``client_secret`` null or ""
    removes the secret; ``enabled`` turns the provider on or off."""
    row = _provider(provider_name)
    fields = body_fields(CHANGEABLE)
    if "client_secret" in fields and fields["client_secret"] is None:
        fields["client_secret"] = ""
    update_provider(row, **fields)
    db.session.commit()
    return jsonify(provider_json(row))


@api_bp.delete("/realms/<realm_name>/providers/<provider_name>")
def remove_provider_view(provider_name):
    """The users' links to this provider go with it; the users stay."""
    remove_provider(_provider(provider_name))
    db.session.commit()
    return "", 204
