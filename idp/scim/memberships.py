"""Which SCIM Groups (organizations) a user is a member of. Until organizations exist on this
branch, none."""
from __future__ import annotations


def group_memberships(user) -> list[tuple[str, str]]:
    """``(group id, display name)`` of each organization ``user`` belongs to."""
    return []
