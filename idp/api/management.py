"""Management routes of a realm (an API key with the route's scope required): users, their
credentials and recovery codes, SMS integrations, realm settings, audit events. Realms,
clients, providers, API keys and users' sessions have modules of their own. Each view reads its input with
``parameters``, calls the same services as the CLI and the hosted pages, commits, and answers
with a ``representations`` shape."""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..mfa import flows
from ..mfa.recovery import recovery_codes_remaining
from ..models import AuditEvent, SmsIntegration
from ..services import NotFound
from ..services import sms_integrations as integrations
from ..sms.registry import all_fields
from ..sms.registry import registry as sms_registry
from ..mfa.sms import admin_set_phone
from ..services.mfa_users import admin_set_mfa
from ..services.realm_settings import REALM_SETTINGS
from ..services.realms import update_realm
from ..services.sign_out import change_password
from ..services.users import create_user, delete_user, get_user, list_users, update_user
from . import api_bp, credentials
from .errors import invalid_fields
from .parameters import (
    MAX_ID,
    Field,
    body_fields,
    path_text,
    query_int,
    query_text,
    query_time,
)
from .representations import (
    audit_event_json,
    credential_json,
    realm_settings_json,
    sms_integration_json,
    user_json,
)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
PASSWORD = Field(max_length=1024)


def created(data):
    response = jsonify(data)
    response.status_code = 201
    return response


def _no_content():
    return "", 204


def _page(items: list, limit: int, offset: int) -> dict:
    """``limit + 1`` rows were fetched: the extra one only tells whether another page exists."""
    return {"limit": limit, "offset": offset, "next_offset": offset + limit if len(items) > limit else None}


# --- realm settings -------------------------------------------------------------------------

def _setting_field(setting) -> Field:
    """A realm setting as a body field: its type is checked here, its value by the service."""
    kind = {"boolean": "boolean", "integer": "integer", "countries": "strings"}.get(setting.kind, "string")
    return Field(kind, nullable=True, max_length=setting.max_length, max_items=setting.max_items)


SETTINGS_FIELDS = {setting.name: _setting_field(setting) for setting in REALM_SETTINGS}
#: The realm's list of second factors (``--factors``), beside the generated settings.
SETTINGS_FIELDS["mfa_factors"] = Field("strings", nullable=True, max_length=16, max_items=16)


@api_bp.get("/realms/<realm_name>/settings")
def get_settings():
    return jsonify(realm_settings_json(g.realm))


@api_bp.patch("/realms/<realm_name>/settings")
def update_settings():
    """The same rules as ``idp realms set``: SMS MFA needs an active SMS integration, the
    password policy's minimum length is 8 to 128."""
    changes = body_fields(SETTINGS_FIELDS)
    update_realm(g.realm, **changes)
    db.session.commit()
    return jsonify(realm_settings_json(g.realm))


# --- users ----------------------------------------------------------------------------------

def user_by_id(user_id: str):
    if path_text(user_id) is None:
        raise NotFound("That user does not exist.")
    return get_user(g.realm, user_id)


@api_bp.get("/realms/<realm_name>/users")
def list_users_view():
    limit = query_int("limit", default=PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    offset = query_int("offset", default=0)
    users = list_users(g.realm, email_contains=query_text("email", max_length=320), limit=limit + 1, offset=offset)
    return jsonify(users=[user_json(u) for u in users[:limit]], **_page(users, limit, offset))


@api_bp.post("/realms/<realm_name>/users")
def create_user_view():
    fields = body_fields({
        "email": Field(required=True, max_length=320),
        "password": Field(nullable=True, max_length=1024),
        "name": Field(nullable=True, max_length=200),
        "email_verified": Field("boolean"),
    })
    user = create_user(g.realm, email=fields["email"], password=fields.get("password"), name=fields.get("name"),
                       email_verified=fields.get("email_verified", False))
    db.session.commit()
    return created(user_json(user))


@api_bp.get("/realms/<realm_name>/users/<user_id>")
def get_user_view(user_id):
    return jsonify(user_json(user_by_id(user_id)))


@api_bp.patch("/realms/<realm_name>/users/<user_id>")
def update_user_view(user_id):
    """Name (null clears it), email, email_verified, the MFA flag and the phone (null or ""
    clears it) as an administrator sets them: an admin-set phone is unverified until its
    first code."""
    user = user_by_id(user_id)
    fields = body_fields({
        "name": Field(nullable=True, max_length=200),
        "email": Field(max_length=320),
        "email_verified": Field("boolean"),
        "mfa_enabled": Field("boolean"),
        "phone": Field(nullable=True, max_length=64),
        "disabled": Field("boolean"),
    })
    name = fields.get("name", ...)
    update_user(user, name=None if name is ... else (name or ""), email=fields.get("email"),
                email_verified=fields.get("email_verified"))
    if "phone" in fields:
        admin_set_phone(user, fields["phone"] or "")
    if "mfa_enabled" in fields:
        admin_set_mfa(user, fields["mfa_enabled"])
    if "disabled" in fields:
        user.disabled = fields["disabled"]
    db.session.commit()
    return jsonify(user_json(user))


@api_bp.delete("/realms/<realm_name>/users/<user_id>")
def delete_user_view(user_id):
    delete_user(user_by_id(user_id))
    db.session.commit()
    return _no_content()


@api_bp.put("/realms/<realm_name>/users/<user_id>/password")
def set_password_view(user_id):
    """Ends the user's sessions, tokens and remembered devices unless ``keep_sessions``."""
    user = user_by_id(user_id)
    fields = body_fields({"password": Field(required=True, max_length=1024), "keep_sessions": Field("boolean")})
    change_password(user, fields["password"], reason="admin", keep_sessions=fields.get("keep_sessions", False))
    db.session.commit()
    return _no_content()


# --- credentials ----------------------------------------------------------------------------

def _credential(user_id: str, credential_id: str):
    user = user_by_id(user_id)
    if path_text(credential_id, 64) is None:
        raise NotFound("That credential does not exist.")
    return credentials.find_credential(user, credential_id)


@api_bp.get("/realms/<realm_name>/users/<user_id>/credentials")
def list_credentials_view(user_id):
    return jsonify(credentials=[credential_json(c) for c in credentials.list_credentials(user_by_id(user_id))])


@api_bp.post("/realms/<realm_name>/users/<user_id>/credentials")
def create_credential_view(user_id):
    """A new pending credential, with its own id each time: ``totp`` answers with
    ``otp_secret`` and ``provisioning_uri``; ``sms`` with the phone to verify.
    ``auth_provider_id`` is accepted and ignored (AuthRocket clients send it; a realm has one
    provider per type)."""
    user = user_by_id(user_id)
    fields = body_fields({
        "credential_type": Field(required=True, choices=credentials.credential_types(), max_length=16),
        "name": Field(nullable=True, max_length=100),
        "phone": Field(nullable=True, max_length=64),
        "auth_provider_id": Field(nullable=True, max_length=200),
    })
    row = credentials.create_credential(user, credential_type=fields["credential_type"],
                                        fields={k: v for k, v in fields.items() if v is not None})
    db.session.commit()
    return created(credential_json(row))


@api_bp.get("/realms/<realm_name>/users/<user_id>/credentials/<credential_id>")
def get_credential_view(user_id, credential_id):
    return jsonify(credential_json(_credential(user_id, credential_id)))


@api_bp.delete("/realms/<realm_name>/users/<user_id>/credentials/<credential_id>")
def delete_credential_view(user_id, credential_id):
    credentials.delete_credential(_credential(user_id, credential_id))
    db.session.commit()
    return _no_content()


@api_bp.post("/realms/<realm_name>/users/<user_id>/credentials/<credential_id>/verify")
def verify_credential_view(user_id, credential_id):
    """With ``code``: activate the pending credential (the answer holds ``recovery_codes``, once,
    when it is the user's first factor). Without (SMS only): text a code to the pending phone
    and answer 202."""
    row = _credential(user_id, credential_id)
    fields = body_fields({"code": Field(nullable=True, max_length=64)})
    if fields.get("code") is None:
        credentials.send_verification_code(row)
        db.session.commit()
        response = jsonify(code_sent=True, credential=credential_json(row))
        response.status_code = 202
        return response
    codes = credentials.verify_credential(row, {"code": fields["code"]})
    db.session.commit()
    body = credential_json(row)
    if codes:
        body["recovery_codes"] = codes
    return jsonify(body)


# --- recovery codes -------------------------------------------------------------------------

@api_bp.get("/realms/<realm_name>/users/<user_id>/recovery_codes")
def recovery_codes_status(user_id):
    return jsonify(remaining=recovery_codes_remaining(user_by_id(user_id)))


@api_bp.post("/realms/<realm_name>/users/<user_id>/recovery_codes")
def generate_recovery_codes_view(user_id):
    """A new set replacing the old one; the plain codes are in this answer only."""
    user = user_by_id(user_id)
    body_fields({})
    codes = flows.issue_backup_codes(user)
    if not codes:
        raise NotFound("Recovery codes are not offered by this installation.")
    db.session.commit()
    return created({"codes": codes, "remaining": len(codes)})


# --- SMS integrations -----------------------------------------------------------------------

def _integration(integration_id: int) -> SmsIntegration:
    row = db.session.get(SmsIntegration, integration_id)
    if row is None or row.realm_id != g.realm.id:
        raise NotFound("That SMS integration does not exist.")
    return row


INTEGRATION_ID = f"<int(max={MAX_ID}):integration_id>"


@api_bp.get("/realms/<realm_name>/sms_integrations")
def list_integrations_view():
    return jsonify(sms_integrations=[sms_integration_json(row) for row in integrations.list_integrations(g.realm)])


@api_bp.post("/realms/<realm_name>/sms_integrations")
def add_integration_view():
    fields = body_fields({
        "kind": Field(required=True, choices=tuple(sms_registry().kinds()), max_length=16),
        "name": Field(required=True, max_length=100),
        "active": Field("boolean"),
        **{spec_field.name: Field(nullable=True, max_length=spec_field.max_length)
           for _, spec_field in all_fields(sms_registry().all())},
    })
    row = integrations.add_integration(g.realm, **fields)
    db.session.commit()
    return created(sms_integration_json(row))


@api_bp.get(f"/realms/<realm_name>/sms_integrations/{INTEGRATION_ID}")
def get_integration_view(integration_id):
    return jsonify(sms_integration_json(_integration(integration_id)))


@api_bp.patch(f"/realms/<realm_name>/sms_integrations/{INTEGRATION_ID}")
def update_integration_view(integration_id):
    """Activate or deactivate (the last active integration cannot be deactivated while SMS MFA
    is on: 409), and change the provider's settings: a field left out is kept, null clears it,
    the secret is kept unless a new one is given."""
    row = _integration(integration_id)
    spec = sms_registry().get(row.kind)
    fields = body_fields({"active": Field("boolean"),
                          **{f.name: Field(nullable=True, max_length=f.max_length) for f in (spec.fields if spec else ())}})
    if not fields:
        raise invalid_fields({"active": "Give active or a setting to change."})
    active = fields.pop("active", None)
    if fields:
        integrations.change_integration(row, **{name: "" if value is None else value for name, value in fields.items()})
    if active is True:
        integrations.activate_integration(row)
    elif active is False:
        integrations.deactivate_integration(row)
    db.session.commit()
    return jsonify(sms_integration_json(row))


@api_bp.delete(f"/realms/<realm_name>/sms_integrations/{INTEGRATION_ID}")
def remove_integration_view(integration_id):
    integrations.remove_integration(_integration(integration_id))
    db.session.commit()
    return _no_content()


# --- audit events ---------------------------------------------------------------------------

@api_bp.get("/realms/<realm_name>/audit_events")
def list_audit_events():
    """Newest first; filter by ``user_id``, ``type`` and a ``since``/``until`` time window."""
    limit = query_int("limit", default=PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    offset = query_int("offset", default=0)
    query = db.select(AuditEvent).filter(AuditEvent.realm_id == g.realm.id)
    user_id = query_text("user_id", max_length=64)
    if user_id:
        query = query.filter(AuditEvent.user_id == user_id)
    event_type = query_text("type", max_length=64)
    if event_type:
        query = query.filter(AuditEvent.event_type == event_type)
    since, until = query_time("since"), query_time("until")
    if since:
        query = query.filter(AuditEvent.created_at >= since)
    if until:
        query = query.filter(AuditEvent.created_at < until)
    events = list(db.session.scalars(
        query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit + 1).offset(offset)))
    return jsonify(audit_events=[audit_event_json(e) for e in events[:limit]], **_page(events, limit, offset))
