"""A realm's API keys, managed with a key of scope ``api_keys:admin``: list, create (the
secret is in that answer only; scopes and expiry bounded by the calling key's own), read,
revoke. Server-level keys are made on the command line only."""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..services.api_keys import (
    create_api_key,
    get_api_key,
    list_api_keys,
    parse_expiry,
    revoke,
)
from . import api_bp
from .management import created
from .parameters import MAX_ID, Field, body_fields
from .representations import api_key_json

KEY_ID = f"<int(max={MAX_ID}):key_id>"


@api_bp.get("/realms/<realm_name>/api_keys")
def list_api_keys_view():
    return jsonify(api_keys=[api_key_json(key) for key in list_api_keys(g.realm)])


@api_bp.post("/realms/<realm_name>/api_keys")
def create_api_key_view():
    fields = body_fields({
        "name": Field(required=True, max_length=100),
        "scopes": Field("strings", required=True, max_length=40, max_items=20),
        "expires_at": Field(nullable=True, max_length=40),
    })
    expires_at = parse_expiry(fields["expires_at"]) if fields.get("expires_at") else None
    key, secret = create_api_key(g.realm, fields["name"], scopes=fields["scopes"], expires_at=expires_at,
                                 created_by=g.api_key)
    db.session.commit()
    return created({**api_key_json(key), "secret": secret})


@api_bp.get(f"/realms/<realm_name>/api_keys/{KEY_ID}")
def get_api_key_view(key_id):
    return jsonify(api_key_json(get_api_key(g.realm, key_id)))


@api_bp.delete(f"/realms/<realm_name>/api_keys/{KEY_ID}")
def revoke_api_key_view(key_id):
    """Revoke: requests with the key are refused from now on; its row stays for the record."""
    revoke(get_api_key(g.realm, key_id))
    db.session.commit()
    return "", 204
