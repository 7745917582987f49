"""The SCIM resources this server serves (RFC 7643), as scim2-models classes.

``User`` holds what an account has: ``userName`` is the account's email address (its login,
unique in the realm), ``displayName`` its name, ``active`` the opposite of a locked account,
``externalId`` the provisioning client's own id, ``password`` write-only (checked by the realm's
password policy, never returned), ``emails`` the one address, read-only (it follows
``userName``), and ``groups`` the organizations the user is a member of, read-only (membership
is changed through ``Group.members``). Attributes of the full RFC 7643 User schema that an
account does not have (``name``, ``phoneNumbers``, addresses...) are ignored when a client sends
them, as the RFC allows a service provider that does not support them; ``/Schemas`` lists
exactly the attributes above."""
from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field
from scim2_models import (URN, CaseExact, ComplexAttribute, Email, GroupMembership, Mutability, Reference, Required,
                          Resource, Returned, Uniqueness)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


class User(Resource):
    __schema__ = URN(USER_SCHEMA)
    model_config = ConfigDict(extra="ignore")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    """The account's email address, by which it logs in."""

    display_name: str | None = None
    """The name pages and tokens show (the ``name`` claim)."""

    active: bool | None = None
    """False for a locked account, which cannot log in."""

    password: Annotated[str | None, Mutability.write_only, Returned.never] = None
    """A new password, under the realm's password policy."""

    emails: Annotated[list[Email] | None, Mutability.read_only] = None
    """The account's address (the same as ``userName``)."""

    groups: Annotated[list[GroupMembership] | None, Mutability.read_only] = None
    """The organizations the user is a member of."""


GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


class GroupMember(ComplexAttribute):
    """A member: a user of the realm (groups do not nest: an organization holds users). A
    ``display`` a client sends is ignored (the user's own ``displayName`` says it)."""

    model_config = ConfigDict(extra="ignore")

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    """The user's id."""

    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref")

    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])


class Group(Resource):
    """An organization of the realm: ``displayName`` is its display name, ``members`` its
    memberships (adding a member gives them the organization's default role, if it has one;
    roles themselves are managed through the API, console and CLI). A new group's
    organization name (the slug ``organization=`` takes) is made from its display name."""

    __schema__ = URN(GROUP_SCHEMA)
    model_config = ConfigDict(extra="ignore")

    display_name: Annotated[str | None, Required.true] = None
    members: list[GroupMember] | None = None
    Members: ClassVar[type[ComplexAttribute]] = GroupMember
