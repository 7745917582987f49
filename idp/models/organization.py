"""Organizations, memberships and roles (issue 16).

The model is Auth0's: a realm defines *roles*, each a set of *permissions* (strings the operator
chooses, such as ``invoices:read``). A role is given either to a user for the whole realm
(``user_roles``) or to a user inside one organization, through their membership
(``membership_roles``); there are no separate "organization roles". A user belongs to any
number of organizations of their realm. Deleting a realm, an organization, a role or a user
deletes the rows that refer to it (``ON DELETE CASCADE``), so no membership outlives either
side."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .realm import Realm
from .user import User


def new_organization_id() -> str:
    return "org_" + uuid.uuid4().hex[:24]


#: Realm roles given to a user directly (they apply whatever the organization).
user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True),
)

#: Roles a member holds inside one organization.
membership_roles = Table(
    "membership_roles",
    db.metadata,
    Column("membership_id", ForeignKey("organization_memberships.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Role(db.Model):
    """A named set of permissions, defined per realm."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("realm_id", "name", name="uq_roles_realm_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Sorted, without duplicates (``services.roles.normalize_permissions``).
    permissions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    realm: Mapped[Realm] = relationship()

    def __repr__(self) -> str:
        return f"<Role {self.name}>"


class Organization(db.Model):
    """A customer, team or tenant of the realm's apps. ``name`` is a stable slug (what
    ``organization=`` on ``/authorize`` and the CLI take); ``id`` is what tokens carry."""

    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("realm_id", "name", name="uq_organizations_realm_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_organization_id)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    #: The role a user gets when joining through a verified domain or an invitation naming none.
    default_role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id", ondelete="SET NULL"),
                                                        nullable=True, index=True)
    #: The provisioning client's own id for it (SCIM ``externalId`` of the Group).
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    realm: Mapped[Realm] = relationship()
    default_role: Mapped[Role | None] = relationship()
    domains: Mapped[list[OrganizationDomain]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", passive_deletes=True,
        order_by=lambda: OrganizationDomain.domain)
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<Organization {self.name}>"


class OrganizationDomain(db.Model):
    """An email domain the operator vouches belongs to the organization (verified by whoever
    added it: the console, CLI and API are operator surfaces). With ``auto_join``, a user whose
    address at the domain is verified joins the organization at their next login, or when they
    verify the address. A domain belongs to at most one organization of a realm."""

    __tablename__ = "organization_domains"
    __table_args__ = (UniqueConstraint("realm_id", "domain", name="uq_organization_domains_realm_domain"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253))
    auto_join: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="domains")


class Membership(db.Model):
    """A user in an organization, with the roles they hold there. ``joined_via``: ``admin``
    (console, CLI, API), ``invitation``, ``domain`` (auto-join) or ``scim``."""

    __tablename__ = "organization_memberships"
    __table_args__ = (UniqueConstraint("organization_id", "user_id", name="uq_organization_memberships_org_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    joined_via: Mapped[str] = mapped_column(String(16), default="admin")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()
    roles: Mapped[list[Role]] = relationship(secondary=membership_roles, passive_deletes=True,
                                             order_by=lambda: Role.name)

    @property
    def permissions(self) -> list[str]:
        return sorted({permission for role in self.roles for permission in role.permissions or []})


class OrganizationInvitation(db.Model):
    """An invitation mailed to join an organization with a role. The link's token is stored
    only as its keyed digest; it works once (``accepted_at`` is claimed atomically) and until
    ``expires_at``. ``user_id`` is the invited account: an existing one, or one made without a
    password for the invitee (as ``lifecycle.invitation`` does), who chooses it from the link."""

    __tablename__ = "organization_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id", ondelete="SET NULL"), nullable=True,
                                                index=True)
    email: Mapped[str] = mapped_column(String(320))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    organization: Mapped[Organization] = relationship()
    user: Mapped[User] = relationship()
    role: Mapped[Role | None] = relationship()

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        return "expired" if self.expires_at <= utcnow() else "pending"
