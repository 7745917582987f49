"""Invitations: an administrator creates an account without a password, and its owner chooses
one through a mailed single-use link (as Keycloak's "execute actions" mail and Auth0's
password-change ticket do). The link is the password-reset machinery (``links``) with its own
purpose and a longer life, since the person may not read their mail at once; opening it and
choosing a password under the realm's policy also proves the address."""
from __future__ import annotations

from ..i18n import _
from ..mail import compose, deliver_after_commit
from ..services.audit import record_event
from ..services.passwords import check_password_policy
from ..services.users import create_user, set_password
from .links import INVITATION, LIFETIMES, LinkInvalid, absolute_url, claim_link, issue_link, retire_links
from .signals import address_proven


def invitation_url(realm, token: str) -> str:
    return absolute_url("lifecycle.accept_invitation", realm_name=realm.name, token=token)


def lifetime_hours() -> int:
    return int(LIFETIMES[INVITATION].total_seconds() // 3600)


def invite_user(realm, *, email: str, name: str | None = None, invited_by: str | None = None):
    """A new account with no password, and the invitation mailed once the caller commits.
    Nobody can log in with a password until the link is used."""
    user = create_user(realm, email=email, password=None, name=name, email_verified=False)
    send_invitation(user, invited_by=invited_by)
    return user


def send_invitation(user, *, invited_by: str | None = None) -> None:
    """Mail a (new) invitation link; earlier unused ones stop working."""
    retire_links(user, INVITATION)
    token = issue_link(user, INVITATION)
    realm = user.realm
    message = compose(realm, "invitation", to=user.email, user=user, link_url=invitation_url(realm, token),
                      lifetime_hours=lifetime_hours())
    deliver_after_commit(message)
    record_event("user.invited", realm=realm, user=user, invited_by=invited_by)


def accept_invitation(link, password: str):
    """The invited person chooses their password; the caller commits. ``ServiceError`` when the
    password breaks the policy (the link stays usable), ``LinkInvalid`` when it was used meanwhile."""
    user = link.user
    check_password_policy(user.realm, password, email=user.email)
    if not claim_link(link):
        raise LinkInvalid(_("This link was already used. Each link works only once."))
    set_password(user, password, reason="invitation")
    user.email_verified = True
    user.registration_pending_since = None
    retire_links(user, INVITATION)
    address_proven.send(user, reason="invitation")
    record_event("user.invitation_accepted", realm=user.realm, user=user)
    return user
