"""Organizations, their verified domains, members and invitations (issue 16).

Organization roles are realm roles (``services.roles``) assigned per membership, as in Auth0:
a member holds zero or more of the realm's roles inside one organization. A user may belong to
several organizations. The CLI, console, management API and SCIM call these functions; the
caller commits.

Verified domains are vouched for by the operator who adds them (every surface that adds one is
an operator's). With ``auto_join`` a user whose address at the domain is *verified* joins the
organization (with its default role) at their next successful login or when they verify the
address (``auto_join``), never before."""
from __future__ import annotations

import datetime as dt
import re

from ..events import record_event
from ..extensions import db
from ..i18n import _
from ..models import Membership, Organization, OrganizationDomain, OrganizationInvitation, Role, User, utcnow
from ..security import keyed_digest, random_token
from . import NotFound, ServiceError
from .roles import get_roles
from .users import create_user, email_key, find_user_by_email, normalize_email

#: An organization's name: a stable slug (``organization=acme`` on ``/authorize``).
ORGANIZATION_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_DISPLAY_NAME_LENGTH = 200
MAX_DOMAINS_PER_ORGANIZATION = 50
MAX_ORGANIZATIONS_PER_REALM = 10_000
MAX_INVITATION_TOKEN_LENGTH = 128
#: As long as an account invitation (``lifecycle.links``): the person may not read mail at once.
INVITATION_LIFETIME = dt.timedelta(hours=72)
JOINED_VIA = ("admin", "invitation", "domain", "scim")


# --- organizations -------------------------------------------------------------------------------

def normalize_organization_name(name: str) -> str:
    name = (name or "").strip().lower()
    if not ORGANIZATION_NAME.fullmatch(name):
        raise ServiceError(_("An organization name is 1 to 64 lower-case letters, digits or dashes, starting and "
                             "ending with a letter or digit."), field="name")
    return name


def _display_name(display_name: str | None, fallback: str) -> str:
    display_name = (display_name or "").strip() or fallback
    if len(display_name) > MAX_DISPLAY_NAME_LENGTH:
        raise ServiceError(_("The display name is at most %(limit)s characters.", limit=MAX_DISPLAY_NAME_LENGTH),
                           field="display_name")
    return display_name


def list_organizations(realm, *, limit: int | None = None, offset: int = 0) -> list[Organization]:
    query = db.select(Organization).filter_by(realm_id=realm.id).order_by(Organization.name).offset(offset)
    return list(db.session.scalars(query.limit(limit) if limit else query))


def count_organizations(realm) -> int:
    return db.session.scalar(db.select(db.func.count(Organization.id)).filter_by(realm_id=realm.id))


def find_organization(realm, name_or_id: str) -> Organization | None:
    """By name (the slug) or id."""
    if not isinstance(name_or_id, str) or not name_or_id or len(name_or_id) > 64:
        return None
    return db.session.scalar(db.select(Organization).where(
        Organization.realm_id == realm.id,
        db.or_(Organization.name == name_or_id.strip().lower(), Organization.id == name_or_id)))


def get_organization(realm, name_or_id: str) -> Organization:
    organization = find_organization(realm, name_or_id)
    if organization is None:
        raise NotFound(_("Organization '%(name)s' does not exist in this realm.", name=name_or_id))
    return organization


def create_organization(realm, name: str, *, display_name: str | None = None, domains=(),
                        auto_join: bool = False, default_role: str | None = None) -> Organization:
    name = normalize_organization_name(name)
    if find_organization(realm, name) is not None:
        raise ServiceError(_("An organization with this name already exists."), field="name")
    if count_organizations(realm) >= MAX_ORGANIZATIONS_PER_REALM:
        raise ServiceError(_("A realm holds at most %(limit)s organizations.", limit=MAX_ORGANIZATIONS_PER_REALM))
    organization = Organization(realm_id=realm.id, name=name, display_name=_display_name(display_name, name),
                                default_role_id=_role_id(realm, default_role))
    db.session.add(organization)
    db.session.flush()
    record_event("organization.created", realm=realm, organization=organization.name,
                 organization_id=organization.id)
    for domain in domains or []:
        add_domain(organization, domain, auto_join=auto_join)
    return organization


def _existing_roles(realm, names, field: str) -> list[Role]:
    """The roles named; an unknown one is a mistake in the field that named it (422, not 404)."""
    try:
        return get_roles(realm, names)
    except NotFound as error:
        raise ServiceError(error.message, field=field) from None


def _role_id(realm, role_name: str | None) -> int | None:
    if not role_name:
        return None
    return _existing_roles(realm, [role_name], "default_role")[0].id


def update_organization(organization: Organization, *, display_name: str | None = None,
                        default_role: str | None = None) -> Organization:
    """``default_role=""`` clears the default role."""
    changed = {}
    if display_name is not None:
        new = _display_name(display_name, organization.name)
        if new != organization.display_name:
            organization.display_name = changed["display_name"] = new
    if default_role is not None:
        role_id = _role_id(organization.realm, default_role)
        if role_id != organization.default_role_id:
            organization.default_role_id = role_id
            changed["default_role"] = default_role or ""
    if changed:
        db.session.flush()
        record_event("organization.updated", realm=organization.realm, organization=organization.name,
                     organization_id=organization.id, **changed)
    return organization


def delete_organization(organization: Organization) -> None:
    """Its domains, memberships and invitations go with it (cascades)."""
    record_event("organization.deleted", realm=organization.realm, organization=organization.name,
                 organization_id=organization.id)
    db.session.delete(organization)
    db.session.flush()


# --- verified domains ----------------------------------------------------------------------------

def normalize_domain(domain: str) -> str:
    domain = (domain or "").strip().lower().rstrip(".")
    if domain.startswith("@"):
        domain = domain[1:]
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        ascii_domain = ""
    if not DOMAIN.fullmatch(ascii_domain):
        raise ServiceError(_("'%(domain)s' is not a domain name (example.com).", domain=domain[:253]), field="domain")
    return ascii_domain


def add_domain(organization: Organization, domain: str, *, auto_join: bool = False) -> OrganizationDomain:
    domain = normalize_domain(domain)
    taken = db.session.scalar(db.select(OrganizationDomain).filter_by(realm_id=organization.realm_id, domain=domain))
    if taken is not None:
        if taken.organization_id == organization.id:
            if taken.auto_join != bool(auto_join):
                return set_domain_auto_join(organization, domain, auto_join)
            return taken
        raise ServiceError(_("The domain %(domain)s already belongs to another organization.", domain=domain),
                           field="domain")
    if len(organization.domains) >= MAX_DOMAINS_PER_ORGANIZATION:
        raise ServiceError(_("An organization has at most %(limit)s domains.", limit=MAX_DOMAINS_PER_ORGANIZATION),
                           field="domain")
    row = OrganizationDomain(realm_id=organization.realm_id, organization_id=organization.id, domain=domain,
                             auto_join=bool(auto_join))
    organization.domains.append(row)
    db.session.flush()
    record_event("organization.domain_added", realm=organization.realm, organization=organization.name,
                 organization_id=organization.id, domain=domain, auto_join=bool(auto_join))
    return row


def _own_domain(organization: Organization, domain: str) -> OrganizationDomain:
    domain = normalize_domain(domain)
    row = next((d for d in organization.domains if d.domain == domain), None)
    if row is None:
        raise NotFound(_("The organization has no domain %(domain)s.", domain=domain))
    return row


def set_domain_auto_join(organization: Organization, domain: str, auto_join: bool) -> OrganizationDomain:
    row = _own_domain(organization, domain)
    if row.auto_join != bool(auto_join):
        row.auto_join = bool(auto_join)
        record_event("organization.domain_updated", realm=organization.realm, organization=organization.name,
                     organization_id=organization.id, domain=row.domain, auto_join=row.auto_join)
    return row


def remove_domain(organization: Organization, domain: str) -> None:
    row = _own_domain(organization, domain)
    organization.domains.remove(row)
    db.session.flush()
    record_event("organization.domain_removed", realm=organization.realm, organization=organization.name,
                 organization_id=organization.id, domain=row.domain)


# --- members -------------------------------------------------------------------------------------

def find_membership(organization: Organization, user: User) -> Membership | None:
    return db.session.scalar(db.select(Membership).filter_by(organization_id=organization.id, user_id=user.id))


def get_membership(organization: Organization, user: User) -> Membership:
    membership = find_membership(organization, user)
    if membership is None:
        raise NotFound(_("%(email)s is not a member of %(organization)s.", email=user.email,
                         organization=organization.name))
    return membership


def list_members(organization: Organization, *, limit: int | None = None, offset: int = 0) -> list[Membership]:
    query = (db.select(Membership).join(User, User.id == Membership.user_id)
             .where(Membership.organization_id == organization.id).order_by(User.email).offset(offset))
    return list(db.session.scalars(query.limit(limit) if limit else query))


def memberships_of(user: User) -> list[Membership]:
    """The user's memberships, by organization name."""
    return list(db.session.scalars(
        db.select(Membership).join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.user_id == user.id).order_by(Organization.name)))


def _check_member(organization: Organization, user: User) -> None:
    if user.realm_id != organization.realm_id:
        raise ServiceError(_("The user and the organization belong to different realms."))


def add_member(organization: Organization, user: User, *, roles=(), joined_via: str = "admin") -> Membership:
    """Make ``user`` a member holding ``roles`` (names or ``Role`` rows). Adding someone who
    is already a member is an error (``set_member_roles`` changes roles)."""
    _check_member(organization, user)
    if find_membership(organization, user) is not None:
        raise ServiceError(_("%(email)s is already a member of %(organization)s.", email=user.email,
                             organization=organization.name), field="email")
    role_rows = _roles(organization.realm, roles)
    membership = Membership(organization_id=organization.id, user_id=user.id, joined_via=joined_via,
                            roles=role_rows)
    db.session.add(membership)
    db.session.flush()
    record_event("organization.member_added", realm=organization.realm, user=user, organization=organization.name,
                 organization_id=organization.id, roles=[role.name for role in role_rows], joined_via=joined_via)
    return membership


def _roles(realm, roles) -> list[Role]:
    names = [role.name if isinstance(role, Role) else role for role in roles or []]
    return _existing_roles(realm, [name for name in names if name], "roles")


def set_member_roles(organization: Organization, user: User, roles) -> Membership:
    membership = get_membership(organization, user)
    role_rows = _roles(organization.realm, roles)
    if [r.id for r in membership.roles] != [r.id for r in role_rows]:
        membership.roles = role_rows
        db.session.flush()
        record_event("organization.member_roles_changed", realm=organization.realm, user=user,
                     organization=organization.name, organization_id=organization.id,
                     roles=[role.name for role in role_rows])
    return membership


def remove_member(organization: Organization, user: User) -> None:
    membership = get_membership(organization, user)
    db.session.delete(membership)
    db.session.flush()
    record_event("organization.member_removed", realm=organization.realm, user=user,
                 organization=organization.name, organization_id=organization.id)


# --- verified-domain auto-join -------------------------------------------------------------------

def email_domain(user: User) -> str | None:
    """The domain of the user's address, in the form domains are stored (IDNA ASCII)."""
    _, _, domain = (user.email or "").rpartition("@")
    if not domain:
        return None
    try:
        return normalize_domain(domain)
    except ServiceError:
        return None


def auto_join_domains(realm_id: int) -> frozenset[str]:
    """The realm's verified domains whose users join automatically. Every successful login asks,
    and most realms have none: the set comes from the per-process lookup cache
    (``organization_domains`` is a watched table), and only a user whose domain is in it costs
    the query that finds the organization."""
    from .lookup_cache import cached

    def load():
        return frozenset(db.session.scalars(db.select(OrganizationDomain.domain).filter_by(realm_id=realm_id,
                                                                                           auto_join=True)))

    return cached(("auto_join_domains", realm_id), load)


def auto_join_organization_for(user: User) -> Organization | None:
    """The organization the user would join by their verified address, if it allows it and
    they are not a member yet."""
    domain = email_domain(user)
    if not user.email_verified or user.disabled or domain is None or domain not in auto_join_domains(user.realm_id):
        return None
    row = db.session.scalar(db.select(OrganizationDomain).filter_by(realm_id=user.realm_id, domain=domain,
                                                                   auto_join=True))
    if row is None or find_membership(row.organization, user) is not None:
        return None
    return row.organization


def auto_join(user: User) -> Membership | None:
    """Join the organization of the user's verified domain, if any allows it (with its
    default role). Called when a login succeeded and when an address was proven."""
    organization = auto_join_organization_for(user)
    if organization is None:
        return None
    roles = [organization.default_role] if organization.default_role is not None else []
    return add_member(organization, user, roles=roles, joined_via="domain")


def organizations_open_to(user: User) -> list[Organization]:
    """Where the user may log in on behalf of: their organizations, and the one their
    verified domain would let them join (joined when the login succeeds)."""
    organizations = {m.organization.id: m.organization for m in memberships_of(user)}
    joinable = auto_join_organization_for(user)
    if joinable is not None:
        organizations[joinable.id] = joinable
    return sorted(organizations.values(), key=lambda organization: organization.name)


# --- invitations ---------------------------------------------------------------------------------

def invite_to_organization(organization: Organization, email: str, *, role: str | None = None,
                           invited_by: str | None = None) -> tuple[OrganizationInvitation, str]:
    """An invitation for ``email`` to join with ``role`` (default: the organization's default
    role), and its token (for the mailed link; only its digest is stored). An address with no
    account gets one without a password, which the invitee chooses from the link (as
    ``lifecycle.invitation`` does). Earlier unused invitations of the same person to the same
    organization stop working. The caller mails the link (``idp.organizations.invitations``)."""
    realm = organization.realm
    email = normalize_email(email)
    role_row = _existing_roles(realm, [role], "role")[0] if role else organization.default_role
    user = find_user_by_email(realm, email)
    if user is None:
        user = create_user(realm, email=email, password=None, email_verified=False)
    elif user.disabled:
        raise ServiceError(_("This account is disabled."), field="email")
    if find_membership(organization, user) is not None:
        raise ServiceError(_("%(email)s is already a member of %(organization)s.", email=user.email,
                             organization=organization.name), field="email")
    now = utcnow()
    _retire_invitations(organization, user, now)
    token = random_token(32)
    invitation = OrganizationInvitation(
        realm_id=realm.id, organization_id=organization.id, user_id=user.id,
        role_id=role_row.id if role_row is not None else None, email=user.email,
        token_digest=keyed_digest(token), invited_by=invited_by, created_at=now,
        expires_at=now + INVITATION_LIFETIME)
    db.session.add(invitation)
    db.session.flush()
    record_event("organization.invitation_sent", realm=realm, user=user, organization=organization.name,
                 organization_id=organization.id, role=role_row.name if role_row else None, invited_by=invited_by)
    return invitation, token


def _retire_invitations(organization: Organization, user: User, now) -> None:
    db.session.execute(
        db.update(OrganizationInvitation)
        .where(OrganizationInvitation.organization_id == organization.id, OrganizationInvitation.user_id == user.id,
               OrganizationInvitation.accepted_at.is_(None), OrganizationInvitation.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session=False))


class InvitationInvalid(ServiceError):
    """The invitation link is unknown, used, expired or no longer for this account."""


def find_invitation(realm, token: str) -> OrganizationInvitation:
    row = None
    if isinstance(token, str) and token and len(token) <= MAX_INVITATION_TOKEN_LENGTH:
        row = db.session.scalar(db.select(OrganizationInvitation).filter_by(token_digest=keyed_digest(token)))
    if row is None or row.realm_id != realm.id:
        raise InvitationInvalid(_("This invitation link is not valid. Check that you copied the whole link from "
                                  "the email."))
    if row.accepted_at is not None:
        raise InvitationInvalid(_("This invitation was already used. Each invitation works only once."))
    if row.expires_at <= utcnow():
        raise InvitationInvalid(_("This invitation has expired. Ask for a new one."))
    if row.user.disabled or email_key(row.user.email) != email_key(row.email):
        raise InvitationInvalid(_("This invitation is no longer valid for this account. Ask for a new one."))
    return row


def accept_invitation(invitation: OrganizationInvitation, user: User) -> Membership:
    """``user`` (who logged in as the invited account) joins; the invitation is claimed
    atomically, so two clicks make one membership. A member already keeps their roles."""
    if user.id != invitation.user_id:
        raise InvitationInvalid(_("This invitation is for another account."))
    now = utcnow()
    claimed = db.session.execute(
        db.update(OrganizationInvitation)
        .where(OrganizationInvitation.id == invitation.id, OrganizationInvitation.accepted_at.is_(None),
               OrganizationInvitation.expires_at > now)
        .values(accepted_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise InvitationInvalid(_("This invitation was already used. Each invitation works only once."))
    invitation.accepted_at = now
    organization = invitation.organization
    membership = find_membership(organization, user)
    if membership is None:
        roles = [invitation.role] if invitation.role is not None else []
        membership = add_member(organization, user, roles=roles, joined_via="invitation")
    record_event("organization.invitation_accepted", realm=organization.realm, user=user,
                 organization=organization.name, organization_id=organization.id)
    return membership


def list_invitations(organization: Organization, *, pending_only: bool = False) -> list[OrganizationInvitation]:
    query = (db.select(OrganizationInvitation).filter_by(organization_id=organization.id)
             .order_by(OrganizationInvitation.created_at.desc(), OrganizationInvitation.id.desc()))
    if pending_only:
        query = query.where(OrganizationInvitation.accepted_at.is_(None), OrganizationInvitation.expires_at > utcnow())
    return list(db.session.scalars(query))


def revoke_invitation(invitation: OrganizationInvitation) -> None:
    if invitation.accepted_at is None and invitation.expires_at > utcnow():
        invitation.expires_at = utcnow()
        record_event("organization.invitation_revoked", realm=invitation.organization.realm,
                     user_id=invitation.user_id, organization=invitation.organization.name,
                     organization_id=invitation.organization_id)


# --- clients -------------------------------------------------------------------------------------

def set_client_organization_required(client, required: bool) -> None:
    """Whether every login to ``client`` must be for one organization (``idp.organizations.stage``)."""
    if bool(client.organization_required) == bool(required):
        return
    client.organization_required = bool(required)
    record_event("client.updated", realm=client.realm, client_id=client.client_id,
                 organization_required=bool(required))


# --- what tokens carry ---------------------------------------------------------------------------

def membership_in(organization_id: str | None, user: User) -> Membership | None:
    if not organization_id or user is None:
        return None
    return db.session.scalar(db.select(Membership).filter_by(organization_id=organization_id, user_id=user.id))
