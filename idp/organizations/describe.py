"""The JSON shapes of organizations, members, invitations and roles: one place for the CLI's
``--json`` and the management API."""
from __future__ import annotations


def role_json(role) -> dict:
    return {"id": role.id, "name": role.name, "description": role.description,
            "permissions": list(role.permissions or []), "created_at": role.created_at.isoformat()}


def domain_json(domain) -> dict:
    return {"domain": domain.domain, "auto_join": domain.auto_join}


def organization_json(organization) -> dict:
    return {
        "id": organization.id,
        "name": organization.name,
        "display_name": organization.display_name,
        "domains": [domain_json(d) for d in organization.domains],
        "default_role": organization.default_role.name if organization.default_role else None,
        "created_at": organization.created_at.isoformat(),
    }


def member_json(membership) -> dict:
    return {
        "user_id": membership.user_id,
        "email": membership.user.email,
        "roles": [role.name for role in membership.roles],
        "permissions": membership.permissions,
        "joined_via": membership.joined_via,
        "joined_at": membership.created_at.isoformat(),
    }


def invitation_json(invitation) -> dict:
    return {
        "id": invitation.id,
        "email": invitation.email,
        "user_id": invitation.user_id,
        "role": invitation.role.name if invitation.role else None,
        "status": invitation.status,
        "invited_by": invitation.invited_by,
        "created_at": invitation.created_at.isoformat(),
        "expires_at": invitation.expires_at.isoformat(),
        "accepted_at": invitation.accepted_at.isoformat() if invitation.accepted_at else None,
    }
