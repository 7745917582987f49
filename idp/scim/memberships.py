"""Which SCIM Groups (organizations) a user is a member of: ``User.groups``."""
from __future__ import annotations


def group_memberships(user) -> list[tuple[str, str]]:
    """``(group id, display name)`` of each organization ``user`` belongs to."""
    from ..services.organizations import memberships_of

    return [(membership.organization_id, membership.organization.display_name) for membership in memberships_of(user)]
