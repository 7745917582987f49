"""Realms: list the realms a key can reach, read one, and (with a server-level key) create one.
A realm's settings are read and changed at ``/realms/{realm}/settings`` (``management``)."""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..services.audit import record_event
from ..services.realms import ADMIN_REALM, create_realm, list_realms
from . import api_bp
from .errors import ApiError
from .management import SETTINGS_FIELDS, created
from .parameters import Field, body_fields
from .representations import realm_json


@api_bp.get("/realms")
def list_realms_view():
    """A server-level key sees every realm but the console's own; a realm key, its realm."""
    key = g.api_key
    realms = [realm for realm in list_realms() if realm.name != ADMIN_REALM] if key.server_level else [key.realm]
    return jsonify(realms=[realm_json(realm) for realm in realms])


@api_bp.post("/realms")
def create_realm_view():
    """Name, and any realm setting (the rest start at their defaults)."""
    if not g.api_key.server_level:
        raise ApiError(403, "forbidden", "Only a server-level API key may create realms "
                                         "('idp api-keys create --server').")
    fields = body_fields({"name": Field(required=True, max_length=64), **SETTINGS_FIELDS})
    name = fields.pop("name")
    realm = create_realm(name, **{key: value for key, value in fields.items() if value is not None})
    record_event("realm.created", realm=realm, name=realm.name)
    db.session.commit()
    return created(realm_json(realm))


@api_bp.get("/realms/<realm_name>")
def get_realm_view():
    return jsonify(realm_json(g.realm))
