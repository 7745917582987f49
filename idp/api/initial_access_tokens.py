"""Initial access tokens for Dynamic Client Registration (RFC 7591): create one (the token is in
that answer only), list the unexpired ones, revoke one. The rules are
``services.client_registration``', the same as ``idp clients initial-token``."""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..services.client_registration import (
    DEFAULT_INITIAL_TOKEN_LIFETIME,
    INITIAL_TOKEN_LIFETIME_RANGE,
    MAX_USES_RANGE,
    create_initial_access_token,
    list_initial_access_tokens,
    revoke_initial_access_token,
)
from . import api_bp
from .management import created
from .parameters import Field, body_fields
from .representations import timestamp


def initial_access_token_json(row, token: str | None = None) -> dict:
    data = {"id": row.id, "note": row.note, "uses": row.uses, "max_uses": row.max_uses,
            "created_at": timestamp(row.created_at), "expires_at": timestamp(row.expires_at)}
    if token is not None:
        data["token"] = token
    return data


@api_bp.get("/realms/<realm_name>/initial_access_tokens")
def list_initial_access_tokens_view():
    return jsonify(initial_access_tokens=[initial_access_token_json(row) for row in list_initial_access_tokens(g.realm)])


@api_bp.post("/realms/<realm_name>/initial_access_tokens")
def create_initial_access_token_view():
    fields = body_fields({
        "expires_in": Field("integer", minimum=INITIAL_TOKEN_LIFETIME_RANGE[0], maximum=INITIAL_TOKEN_LIFETIME_RANGE[1]),
        "max_uses": Field("integer", nullable=True, minimum=MAX_USES_RANGE[0], maximum=MAX_USES_RANGE[1]),
        "note": Field(max_length=200),
    })
    row, token = create_initial_access_token(g.realm, expires_in=fields.get("expires_in", DEFAULT_INITIAL_TOKEN_LIFETIME),
                                             max_uses=fields.get("max_uses"), note=fields.get("note") or "")
    db.session.commit()
    return created(initial_access_token_json(row, token))


@api_bp.delete("/realms/<realm_name>/initial_access_tokens/<int:token_id>")
def revoke_initial_access_token_view(token_id):
    """Clients registered with it stay."""
    revoke_initial_access_token(g.realm, token_id)
    db.session.commit()
    return "", 204

