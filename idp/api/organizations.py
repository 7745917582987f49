"""Organization and role routes of a realm: organizations (by name or id), their verified
domains, members and invitations; roles and their permissions; a user's realm roles and
organizations. Same services as ``idp orgs``/``idp roles`` and the console."""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..models import OrganizationInvitation
from ..organizations.describe import domain_json, invitation_json, member_json, organization_json, role_json
from ..services import organizations as organization_service
from ..services import roles as role_service
from ..services.users import get_user
from . import api_bp
from .errors import not_found
from .parameters import MAX_ID, Field, body_fields, path_text, query_int

ORGANIZATION = "/realms/<realm_name>/organizations/<organization>"
INVITATION_ID = f"<int(max={MAX_ID}):invitation_id>"
ROLE_NAMES = Field("strings", max_length=64, max_items=50)
PERMISSIONS = Field("strings", max_length=100, max_items=100)
ORGANIZATION_FIELDS = {"display_name": Field(max_length=200), "default_role": Field(nullable=True, max_length=64)}


def _answer(data, status=200):
    response = jsonify(data)
    response.status_code = status
    return response


def _organization(name_or_id: str):
    if not path_text(name_or_id, 64):
        raise not_found("There is no such organization in this realm.")
    return organization_service.get_organization(g.realm, name_or_id)


def _user(user_id: str):
    if not path_text(user_id):
        raise not_found("There is no such user in this realm.")
    return get_user(g.realm, user_id)


def _role(name: str):
    if not path_text(name, 64):
        raise not_found("There is no such role in this realm.")
    return role_service.get_role(g.realm, name)


# --- organizations ------------------------------------------------------------------------------

@api_bp.get("/realms/<realm_name>/organizations")
def list_organizations_view():
    limit, offset = query_int("limit", default=100, minimum=1, maximum=1000), query_int("offset", default=0)
    rows = organization_service.list_organizations(g.realm, limit=limit, offset=offset)
    return jsonify(organizations=[organization_json(o) for o in rows], limit=limit, offset=offset,
                   total=organization_service.count_organizations(g.realm))


@api_bp.post("/realms/<realm_name>/organizations")
def create_organization_view():
    fields = body_fields({
        "name": Field(required=True, max_length=64), **ORGANIZATION_FIELDS,
        "domains": Field("strings", max_length=253, max_items=50), "auto_join": Field("boolean"),
    })
    organization = organization_service.create_organization(
        g.realm, fields["name"], display_name=fields.get("display_name"), domains=fields.get("domains") or [],
        auto_join=fields.get("auto_join", False), default_role=fields.get("default_role"))
    db.session.commit()
    return _answer(organization_json(organization), 201)


@api_bp.get(ORGANIZATION)
def get_organization_view(organization):
    return jsonify(organization_json(_organization(organization)))


@api_bp.patch(ORGANIZATION)
def update_organization_view(organization):
    fields = body_fields(ORGANIZATION_FIELDS)
    org = _organization(organization)
    if "default_role" in fields and fields["default_role"] is None:
        fields["default_role"] = ""
    organization_service.update_organization(org, **fields)
    db.session.commit()
    return jsonify(organization_json(org))


@api_bp.delete(ORGANIZATION)
def delete_organization_view(organization):
    organization_service.delete_organization(_organization(organization))
    db.session.commit()
    return "", 204


@api_bp.post(f"{ORGANIZATION}/domains")
def add_domain_view(organization):
    fields = body_fields({"domain": Field(required=True, max_length=253), "auto_join": Field("boolean")})
    row = organization_service.add_domain(_organization(organization), fields["domain"],
                                          auto_join=fields.get("auto_join", False))
    db.session.commit()
    return _answer(domain_json(row), 201)


@api_bp.patch(f"{ORGANIZATION}/domains/<domain>")
def update_domain_view(organization, domain):
    fields = body_fields({"auto_join": Field("boolean", required=True)})
    row = organization_service.set_domain_auto_join(_organization(organization), domain[:300], fields["auto_join"])
    db.session.commit()
    return jsonify(domain_json(row))


@api_bp.delete(f"{ORGANIZATION}/domains/<domain>")
def remove_domain_view(organization, domain):
    organization_service.remove_domain(_organization(organization), domain[:300])
    db.session.commit()
    return "", 204


# --- members ------------------------------------------------------------------------------------

@api_bp.get(f"{ORGANIZATION}/members")
def list_members_view(organization):
    limit, offset = query_int("limit", default=100, minimum=1, maximum=1000), query_int("offset", default=0)
    rows = organization_service.list_members(_organization(organization), limit=limit, offset=offset)
    return jsonify(members=[member_json(m) for m in rows], limit=limit, offset=offset)


@api_bp.post(f"{ORGANIZATION}/members")
def add_member_view(organization):
    fields = body_fields({"user_id": Field(required=True, max_length=320), "roles": ROLE_NAMES})
    org = _organization(organization)
    membership = organization_service.add_member(org, _user(fields["user_id"]), roles=fields.get("roles") or [])
    db.session.commit()
    return _answer(member_json(membership), 201)


@api_bp.get(f"{ORGANIZATION}/members/<user_id>")
def get_member_view(organization, user_id):
    return jsonify(member_json(organization_service.get_membership(_organization(organization), _user(user_id))))


@api_bp.patch(f"{ORGANIZATION}/members/<user_id>")
def update_member_view(organization, user_id):
    fields = body_fields({"roles": Field("strings", required=True, max_length=64, max_items=50)})
    membership = organization_service.set_member_roles(_organization(organization), _user(user_id), fields["roles"])
    db.session.commit()
    return jsonify(member_json(membership))


@api_bp.delete(f"{ORGANIZATION}/members/<user_id>")
def remove_member_view(organization, user_id):
    organization_service.remove_member(_organization(organization), _user(user_id))
    db.session.commit()
    return "", 204


# --- invitations --------------------------------------------------------------------------------

@api_bp.get(f"{ORGANIZATION}/invitations")
def list_invitations_view(organization):
    rows = organization_service.list_invitations(_organization(organization))
    return jsonify(invitations=[invitation_json(i) for i in rows])


@api_bp.post(f"{ORGANIZATION}/invitations")
def create_invitation_view(organization):
    """Mail the invitation; the link (and its token) is never in the answer."""
    from ..organizations.invitations import invite

    fields = body_fields({"email": Field(required=True, max_length=320), "role": Field(nullable=True, max_length=64)})
    key = getattr(g, "api_key", None)
    invitation = invite(_organization(organization), fields["email"], role=fields.get("role"),
                        invited_by=f"api key {key.name}" if key is not None else "api")
    db.session.commit()
    return _answer(invitation_json(invitation), 201)


@api_bp.delete(f"{ORGANIZATION}/invitations/{INVITATION_ID}")
def revoke_invitation_view(organization, invitation_id):
    org = _organization(organization)
    invitation = db.session.get(OrganizationInvitation, invitation_id)
    if invitation is None or invitation.organization_id != org.id:
        raise not_found("This organization has no such invitation.")
    organization_service.revoke_invitation(invitation)
    db.session.commit()
    return "", 204


# --- roles --------------------------------------------------------------------------------------

ROLE_FIELDS = {"description": Field(nullable=True, max_length=200), "permissions": PERMISSIONS}


@api_bp.get("/realms/<realm_name>/roles")
def list_roles_view():
    return jsonify(roles=[role_json(r) for r in role_service.list_roles(g.realm)])


@api_bp.post("/realms/<realm_name>/roles")
def create_role_view():
    fields = body_fields({"name": Field(required=True, max_length=64), **ROLE_FIELDS})
    role = role_service.create_role(g.realm, fields["name"], permissions=fields.get("permissions") or [],
                                    description=fields.get("description"))
    db.session.commit()
    return _answer(role_json(role), 201)


@api_bp.get("/realms/<realm_name>/roles/<role_name>")
def get_role_view(role_name):
    return jsonify(role_json(_role(role_name)))


@api_bp.patch("/realms/<realm_name>/roles/<role_name>")
def update_role_view(role_name):
    """``permissions`` replaces the set; ``add_permissions``/``remove_permissions`` change it."""
    fields = body_fields({**ROLE_FIELDS, "add_permissions": PERMISSIONS, "remove_permissions": PERMISSIONS})
    role = _role(role_name)
    description = fields.get("description", None)
    role_service.update_role(role, permissions=fields.get("permissions"),
                             add_permissions=fields.get("add_permissions") or (),
                             remove_permissions=fields.get("remove_permissions") or (),
                             description="" if "description" in fields and description is None else description)
    db.session.commit()
    return jsonify(role_json(role))


@api_bp.delete("/realms/<realm_name>/roles/<role_name>")
def delete_role_view(role_name):
    role_service.delete_role(_role(role_name))
    db.session.commit()
    return "", 204


# --- a user's realm roles and organizations -----------------------------------------------------

@api_bp.get("/realms/<realm_name>/users/<user_id>/roles")
def list_user_roles_view(user_id):
    held = role_service.realm_roles_of(_user(user_id))
    return jsonify(roles=[role_json(r) for r in held], permissions=role_service.permissions_of(held))


@api_bp.post("/realms/<realm_name>/users/<user_id>/roles")
def assign_user_role_view(user_id):
    fields = body_fields({"role": Field(required=True, max_length=64)})
    user = _user(user_id)
    role_service.assign_role(user, _role(fields["role"]))
    db.session.commit()
    held = role_service.realm_roles_of(user)
    return _answer({"roles": [role_json(r) for r in held], "permissions": role_service.permissions_of(held)}, 201)


@api_bp.delete("/realms/<realm_name>/users/<user_id>/roles/<role_name>")
def unassign_user_role_view(user_id, role_name):
    role_service.unassign_role(_user(user_id), _role(role_name))
    db.session.commit()
    return "", 204


@api_bp.get("/realms/<realm_name>/users/<user_id>/organizations")
def list_user_organizations_view(user_id):
    memberships = organization_service.memberships_of(_user(user_id))
    return jsonify(organizations=[{**organization_json(m.organization), "roles": [r.name for r in m.roles],
                                   "permissions": m.permissions} for m in memberships])
