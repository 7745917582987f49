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

from typing import Annotated

from pydantic import ConfigDict
from scim2_models import (URN, Email, GroupMembership, Mutability, Required, Resource, Returned,
                          Uniqueness)

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
