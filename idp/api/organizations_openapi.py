"""The organization and role part of the OpenAPI document: the routes of ``api/organizations.py``."""
from __future__ import annotations

from .openapi import NO_CONTENT, READ, REALM, USER, WRITE, _json, _nullable, _object, _op, _param, _ref, _string

ORGANIZATION = f"{REALM}/organizations/{{organization}}"
TIME = _string(format="date-time")
NAMES = {"type": "array", "items": _string(64)}
PERMISSION_LIST = {"type": "array", "items": _string(100, pattern=r"^[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+){0,4}$"),
                   "maxItems": 100, "description": "Permissions such as invoices:read: letters, digits, '_', '.', "
                                                   "'-' in up to five parts joined by ':'."}
SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"

SCHEMAS = {
    "OrganizationDomain": _object({
        "domain": _string(253), "auto_join": {"type": "boolean", "description": (
            "Users with a verified address at the domain join at their next login or when they verify it.")}}),
    "Organization": _object({
        "id": _string(32, description="What tokens carry in org_id and organizations[].id."),
        "name": _string(64, description="A stable slug: organization= on /authorize takes it (or the id)."),
        "display_name": _string(200),
        "domains": {"type": "array", "items": _ref("OrganizationDomain")},
        "default_role": _nullable(_string(64, description="The role of members who join by domain or invitation.")),
        "created_at": TIME,
    }),
    "OrganizationList": _object({
        "organizations": {"type": "array", "items": _ref("Organization")},
        "limit": {"type": "integer"}, "offset": {"type": "integer"}, "total": {"type": "integer"}}),
    "OrganizationCreate": _object({
        "name": _string(64, pattern=SLUG), "display_name": _string(200),
        "domains": {"type": "array", "items": _string(253), "maxItems": 50},
        "auto_join": {"type": "boolean", "default": False, "description": "For the domains given."},
        "default_role": _nullable(_string(64)),
    }, ("name",)),
    "OrganizationUpdate": _object({
        "display_name": _string(200),
        "default_role": _nullable(_string(64, description="null removes it.")),
    }),
    "OrganizationDomainAdd": _object({"domain": _string(253), "auto_join": {"type": "boolean", "default": False}},
                                     ("domain",)),
    "OrganizationDomainUpdate": _object({"auto_join": {"type": "boolean"}}, ("auto_join",)),
    "Member": _object({
        "user_id": _string(), "email": _string(), "roles": NAMES,
        "permissions": {"type": "array", "items": _string(), "description": "Every permission of those roles."},
        "joined_via": {"enum": ["admin", "invitation", "domain", "scim"]}, "joined_at": TIME,
    }),
    "MemberList": _object({"members": {"type": "array", "items": _ref("Member")},
                           "limit": {"type": "integer"}, "offset": {"type": "integer"}}),
    "MemberAdd": _object({"user_id": _string(320, description="The user's id or email."),
                          "roles": {**NAMES, "maxItems": 50}}, ("user_id",)),
    "MemberUpdate": _object({"roles": {**NAMES, "maxItems": 50, "description": "Replaces the member's roles."}},
                            ("roles",)),
    "Invitation": _object({
        "id": {"type": "integer"}, "email": _string(), "user_id": _string(), "role": _nullable(_string(64)),
        "status": {"enum": ["pending", "accepted", "expired"]}, "invited_by": _nullable(_string()),
        "created_at": TIME, "expires_at": TIME, "accepted_at": _nullable(TIME),
    }),
    "InvitationList": _object({"invitations": {"type": "array", "items": _ref("Invitation")}}),
    "InvitationCreate": _object({
        "email": _string(320, description="An account without a password is made for a new address."),
        "role": _nullable(_string(64, description="Default: the organization's default role.")),
    }, ("email",)),
    "Role": _object({
        "id": {"type": "integer"}, "name": _string(64), "description": _nullable(_string(200)),
        "permissions": PERMISSION_LIST, "created_at": TIME,
    }),
    "RoleList": _object({"roles": {"type": "array", "items": _ref("Role")}}),
    "RoleCreate": _object({"name": _string(64), "description": _nullable(_string(200)),
                           "permissions": PERMISSION_LIST}, ("name",)),
    "RoleUpdate": _object({"description": _nullable(_string(200)),
                           "permissions": {**PERMISSION_LIST, "description": "Replaces the set."},
                           "add_permissions": PERMISSION_LIST, "remove_permissions": PERMISSION_LIST}),
    "UserRoles": _object({"roles": {"type": "array", "items": _ref("Role")},
                          "permissions": {"type": "array", "items": _string()}}),
    "UserRoleAssign": _object({"role": _string(64)}, ("role",)),
    "UserOrganization": _object({
        "id": _string(32), "name": _string(64), "display_name": _string(200),
        "domains": {"type": "array", "items": _ref("OrganizationDomain")},
        "default_role": _nullable(_string(64)), "created_at": TIME,
        "roles": {**NAMES, "description": "The user's roles in this organization."},
        "permissions": {"type": "array", "items": _string(), "description": "Every permission of those roles."},
    }),
    "UserOrganizations": _object({"organizations": {"type": "array", "items": _ref("UserOrganization")}}),
}

PARAMETERS = {
    "organization": {"name": "organization", "in": "path", "required": True, "schema": _string(64),
                     "description": "The organization's name or id."},
    "domain": {"name": "domain", "in": "path", "required": True, "schema": _string(253)},
    "invitation_id": {"name": "invitation_id", "in": "path", "required": True,
                      "schema": {"type": "integer", "minimum": 0}},
    "role_name": {"name": "role_name", "in": "path", "required": True, "schema": _string(64)},
}


def paths() -> dict:
    ok = lambda schema, text="OK.": {"200": _json(_ref(schema), text)}  # noqa: E731
    created = lambda schema: {"201": _json(_ref(schema), "Created.")}  # noqa: E731
    orgs, roles = ("organizations",), ("roles",)
    at_org = [_param("realm"), _param("organization")]
    return {
        f"{REALM}/organizations": {
            "parameters": [_param("realm")],
            "get": _op("List organizations", ok("OrganizationList"), READ, tags=orgs,
                       parameters=[_param("limit"), _param("offset")]),
            "post": _op("Create an organization", created("Organization"), WRITE, body="OrganizationCreate", tags=orgs),
        },
        ORGANIZATION: {
            "parameters": at_org,
            "get": _op("Get an organization", ok("Organization"), READ, tags=orgs),
            "patch": _op("Change its display name or default role", ok("Organization"), WRITE,
                         body="OrganizationUpdate", tags=orgs),
            "delete": _op("Delete it with its memberships and invitations", NO_CONTENT, READ, tags=orgs),
        },
        f"{ORGANIZATION}/domains": {
            "parameters": at_org,
            "post": _op("Add a verified domain", created("OrganizationDomain"), WRITE, body="OrganizationDomainAdd",
                        tags=orgs),
        },
        f"{ORGANIZATION}/domains/{{domain}}": {
            "parameters": [*at_org, _param("domain")],
            "patch": _op("Turn auto-join on or off", ok("OrganizationDomain"), WRITE, body="OrganizationDomainUpdate",
                         tags=orgs),
            "delete": _op("Remove a domain", NO_CONTENT, READ, tags=orgs),
        },
        f"{ORGANIZATION}/members": {
            "parameters": at_org,
            "get": _op("List members with their roles", ok("MemberList"), READ, tags=orgs,
                       parameters=[_param("limit"), _param("offset")]),
            "post": _op("Add a member", created("Member"), WRITE, body="MemberAdd", tags=orgs),
        },
        f"{ORGANIZATION}/members/{{user_id}}": {
            "parameters": [*at_org, _param("user_id")],
            "get": _op("Get a member", ok("Member"), READ, tags=orgs),
            "patch": _op("Replace a member's roles", ok("Member"), WRITE, body="MemberUpdate", tags=orgs),
            "delete": _op("Remove a member", NO_CONTENT, READ, tags=orgs),
        },
        f"{ORGANIZATION}/invitations": {
            "parameters": at_org,
            "get": _op("List invitations, newest first", ok("InvitationList"), READ, tags=orgs),
            "post": _op("Mail an invitation (single use, 72 hours; the link is never in the answer)",
                        created("Invitation"), WRITE, body="InvitationCreate", tags=orgs),
        },
        f"{ORGANIZATION}/invitations/{{invitation_id}}": {
            "parameters": [*at_org, _param("invitation_id")],
            "delete": _op("Withdraw a pending invitation", NO_CONTENT, READ, tags=orgs),
        },
        f"{REALM}/roles": {
            "parameters": [_param("realm")],
            "get": _op("List roles", ok("RoleList"), READ, tags=roles),
            "post": _op("Create a role", created("Role"), WRITE, body="RoleCreate", tags=roles),
        },
        f"{REALM}/roles/{{role_name}}": {
            "parameters": [_param("realm"), _param("role_name")],
            "get": _op("Get a role", ok("Role"), READ, tags=roles),
            "patch": _op("Change a role's permissions or description", ok("Role"), WRITE, body="RoleUpdate",
                         tags=roles),
            "delete": _op("Delete a role (users and members holding it lose it)", NO_CONTENT, READ, tags=roles),
        },
        f"{USER}/roles": {
            "parameters": [_param("realm"), _param("user_id")],
            "get": _op("A user's realm roles and their permissions", ok("UserRoles"), READ, tags=roles),
            "post": _op("Give a user a realm role", created("UserRoles"), WRITE, body="UserRoleAssign", tags=roles),
        },
        f"{USER}/roles/{{role_name}}": {
            "parameters": [_param("realm"), _param("user_id"), _param("role_name")],
            "delete": _op("Take a realm role away from a user", NO_CONTENT, READ, tags=roles),
        },
        f"{USER}/organizations": {
            "parameters": [_param("realm"), _param("user_id")],
            "get": _op("A user's organizations, with their roles there", ok("UserOrganizations"), READ, tags=orgs),
        },
    }


def add_organizations(document: dict) -> None:
    from .openapi import _with_scopes

    document["paths"].update(_with_scopes(paths()))
    document["components"]["schemas"].update(SCHEMAS)
    document["components"]["parameters"].update(PARAMETERS)
