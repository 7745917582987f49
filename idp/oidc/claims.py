"""The user's claims a scope releases (ID token, userinfo), and the access token's own.

Roles, permissions and organizations (issue 16), kept small:

- scope ``roles``: ``roles`` (the names of the user's realm roles) and ``permissions`` (every
  permission those roles hold), both sorted lists.
- scope ``organizations``: ``organizations``, the user's organizations as ``{"id", "name"}``.
- a login for one organization (``organization=`` on ``/authorize``, or the organization
  picker of a client that requires one), whatever the scope: ``org_id``, ``org_name``,
  ``org_roles`` and ``org_permissions`` (the roles and permissions the user holds in it).

They are read when the token is issued (a refresh reflects role changes), never stored in it."""
from __future__ import annotations

from ..services import organizations as organization_service
from ..services import roles as role_service


def user_claims(user, scope: str, *, organization_id: str | None = None) -> dict:
    scopes = set((scope or "").split())
    claims = {"sub": user.id}
    if "profile" in scopes:
        claims["name"] = user.name or ""
        claims["preferred_username"] = user.email
    if "email" in scopes:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    claims.update(authorization_claims(user, scope, organization_id=organization_id))
    return claims


def authorization_claims(user, scope: str, *, organization_id: str | None = None) -> dict:
    """The roles, permissions and organization claims (see the module docstring), for the
    ID token, the access token, userinfo and introspection alike."""
    scopes = set((scope or "").split())
    claims: dict = {}
    if user is None:
        return claims
    if "roles" in scopes:
        realm_roles = role_service.realm_roles_of(user)
        claims["roles"] = [role.name for role in realm_roles]
        claims["permissions"] = role_service.permissions_of(realm_roles)
    if "organizations" in scopes:
        claims["organizations"] = [{"id": m.organization.id, "name": m.organization.name}
                                   for m in organization_service.memberships_of(user)]
    membership = organization_service.membership_in(organization_id, user)
    if membership is not None:
        claims["org_id"] = membership.organization.id
        claims["org_name"] = membership.organization.name
        claims["org_roles"] = [role.name for role in membership.roles]
        claims["org_permissions"] = membership.permissions
    return claims


#: The claims above, for discovery's ``claims_supported``.
AUTHORIZATION_CLAIMS = ("roles", "permissions", "organizations", "org_id", "org_name", "org_roles", "org_permissions")
