"""The ``organization`` login stage: which organization a login is for.

It applies when the authorization request names one (``organization=acme``, by name or id,
also through PAR) or when the client requires one (``Client.organization_required``). The
user must be a member, or have a verified address at a domain of the organization that lets
its users join automatically (they join when the login succeeds). A client that requires an
organization and names none gets the one the user has, or a picker when they have several.
A user with no fitting organization cannot finish the login: a page says so, and the client
gets ``access_denied`` (also at once for ``prompt=none``). An unknown organization is treated
like one the user is not a member of, so the page tells nobody which organizations exist.

The decision is kept in the transaction (``state_of(txn, "organization")``) and only acted on
in ``conclude``, after the whole login succeeded: the joining by verified domain, and the
``organization_id`` the authorization response hands to the code (``idp.oidc.resume``)."""
from __future__ import annotations

from flask import url_for

from ..login.stages import ACCESS_DENIED, INTERACTION_REQUIRED, Prompt, state_of, update_state_of
from ..services import organizations as organization_service
from ..services.clients import find_client

KEY = "organization"


def organization_wanted(txn) -> tuple[str | None, bool]:
    """The organization the request names, and whether the client requires one."""
    requested = (txn.authorization_request or {}).get("organization") or None
    client = find_client(txn.realm, txn.client_id) if txn.client_id else None
    return requested, bool(client is not None and client.organization_required)


def decided_organization(txn):
    """The organization this login is for, if it is settled and open to the user; None else."""
    user = txn.user
    if user is None:
        return None
    requested, required = organization_wanted(txn)
    chosen = state_of(txn, KEY).get("organization_id")
    if not (requested or chosen or required):
        return None
    open_to_user = {organization.id: organization for organization in organization_service.organizations_open_to(user)}
    if requested:
        organization = organization_service.find_organization(txn.realm, requested)
        return organization if organization is not None and organization.id in open_to_user else None
    if chosen:
        return open_to_user.get(chosen)
    if required and len(open_to_user) == 1:
        return next(iter(open_to_user.values()))
    return None


class OrganizationStage:
    key = KEY

    def check(self, txn):
        if txn.user is None or not txn.client_id:
            return None
        requested, required = organization_wanted(txn)
        if not requested and not required:
            return None
        if decided_organization(txn) is not None:
            return None
        if requested or not organization_service.organizations_open_to(txn.user):
            return Prompt("not_a_member", ACCESS_DENIED)
        return Prompt("organization_not_chosen", INTERACTION_REQUIRED)

    def url(self, txn):
        return url_for("organization_stage.choose", realm_name=txn.realm.name, txn_id=txn.id)

    def conclude(self, txn):
        """The login succeeded: join by verified domain, and settle the login's organization."""
        if txn.user is None:
            return
        organization = decided_organization(txn) if txn.client_id else None
        organization_service.auto_join(txn.user)
        if organization is not None:
            update_state_of(txn, KEY, organization_id=organization.id)


def join_by_verified_domain(user, **_details) -> None:
    """``address_proven``: a user who just proved their address joins the organization of its
    domain, if it lets its users join automatically (the caller commits)."""
    organization_service.auto_join(user)
