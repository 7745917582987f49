"""Mailing an organization invitation, and purging old ones. The link is the organization
invitation's own (``services.organizations``: single use, 72 hours, only its digest stored);
the mail is composed from the realm's theme like the account invitation."""
from __future__ import annotations

import datetime as dt

from ..lifecycle.links import absolute_url
from ..mail import compose, deliver_after_commit
from ..models import OrganizationInvitation
from ..services import organizations as organization_service


def invitation_url(realm, token: str) -> str:
    return absolute_url("organization_invitations.accept", realm_name=realm.name, token=token)


def invite(organization, email: str, *, role: str | None = None, invited_by: str | None = None):
    """Invite ``email`` (see ``services.organizations.invite_to_organization``) and mail the
    link once the caller commits. Needs a request context (for the link's address)."""
    invitation, token = organization_service.invite_to_organization(organization, email, role=role,
                                                                    invited_by=invited_by)
    realm = organization.realm
    hours = int(organization_service.INVITATION_LIFETIME.total_seconds() // 3600)
    message = compose(realm, "organization_invitation", to=invitation.email, user=invitation.user,
                      organization=organization, role=invitation.role, link_url=invitation_url(realm, token),
                      lifetime_hours=hours, new_account=invitation.user.password_hash is None)
    deliver_after_commit(message)
    return invitation


def purge_organization_invitations(settings, expired_before: dt.datetime) -> int:
    from ..services.purge import delete_in_batches

    return delete_in_batches(OrganizationInvitation.id, OrganizationInvitation.expires_at <= expired_before,
                             OrganizationInvitation.expires_at)
