"""SCIM Groups as the realm's organizations (``services.organizations``): a Group is an
organization, its ``members`` are the organization's memberships. Creating a group creates an
organization whose name (slug) is made from ``displayName``; adding a member makes a membership
``joined_via="scim"`` holding the organization's default role; removing one removes the
membership; deleting the group deletes the organization. Every change goes through the
organization services, so their events are recorded."""
from __future__ import annotations

import re
import secrets
from typing import Any

from flask import g
from scim2_models import (InvalidValueException, Meta, NotFoundException, PreconditionFailedException,
                          UniquenessException)
from scim2_models.path import CompareOperator, Comparison, LogicalExpr, LogicalOperator, Not, Present, ValuePath
from scim2_server.storage import SearchPage
from sqlalchemy import and_, false, func, not_, or_, true

from ..extensions import db
from ..models import Membership, Organization, User
from ..services import ServiceError
from ..services.organizations import (add_member, create_organization, delete_organization, find_organization,
                                      list_members, remove_member, update_organization)
from . import resources
from .filters import check_filter_size
from .users import version_of

MODEL = resources.Group


def to_resource(organization: Organization) -> resources.Group:
    members = [resources.GroupMember(value=m.user_id, type="User", ref=f"Users/{m.user_id}")
               for m in list_members(organization)]
    resource = resources.Group(id=organization.id, external_id=organization.external_id,
                               display_name=organization.display_name, members=members or None)
    resource.meta = Meta(resource_type="Group", created=organization.created_at,
                         last_modified=organization.created_at,
                         version=version_of(resource.model_dump(mode="json")))
    return resource


def _find(resource_id: str) -> Organization:
    organization = db.session.scalar(db.select(Organization).filter_by(realm_id=g.realm.id, id=resource_id)) \
        if resource_id and len(resource_id) <= 32 else None
    if organization is None:
        raise NotFoundException(detail=f"Group {resource_id[:40]} not found")
    return organization


def _slug(display_name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")[:50].strip("-") or "group"
    name = base
    while find_organization(g.realm, name) is not None:
        name = f"{base}-{secrets.token_hex(3)}"
    return name


def _member_users(resource: resources.Group) -> list[User]:
    users = []
    for member in resource.members or []:
        if member.type not in (None, "User"):
            raise InvalidValueException(detail="A group's members are users: groups do not nest")
        user = db.session.scalar(db.select(User).filter_by(realm_id=g.realm.id, id=member.value or "")) \
            if member.value and len(member.value) <= 32 else None
        if user is None:
            raise InvalidValueException(detail=f"There is no user {str(member.value)[:40]} in this realm")
        users.append(user)
    return users


def _external_id(value):
    if value is not None and (len(value) > 255 or "\x00" in value):
        raise InvalidValueException(detail="externalId must be at most 255 characters")
    return value


def _set_members(organization: Organization, wanted: list[User]) -> None:
    current = {m.user_id: m.user for m in list_members(organization)}
    wanted_ids = {user.id for user in wanted}
    for user_id, user in current.items():
        if user_id not in wanted_ids:
            remove_member(organization, user)
    roles = [organization.default_role] if organization.default_role is not None else []
    for user in wanted:
        if user.id not in current:
            add_member(organization, user, roles=roles, joined_via="scim")
            current[user.id] = user


def _service_error(error: ServiceError):
    if "already" in error.message:
        return UniquenessException(detail=error.message)
    return InvalidValueException(detail=error.message)


def get(resource_id: str) -> resources.Group:
    return to_resource(_find(resource_id))


_COLUMNS = {"id": Organization.id, "externalid": Organization.external_id}


def _condition(node, parent: str | None = None):
    """Filters on ``id``, ``externalId``, ``displayName`` (case-insensitive) and
    ``members.value`` / ``members[value eq "..."]``; any other attribute matches nothing."""
    if node is None:
        return true()
    if isinstance(node, LogicalExpr):
        terms = [_condition(term, parent) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
    if isinstance(node, Not):
        return not_(_condition(node.expr, parent))
    if isinstance(node, ValuePath):
        return _condition(node.val_filter, "members") if node.attr_path.attr.lower() == "members" else false()
    if not isinstance(node, Comparison | Present):
        return false()
    name = node.attr_path.attr.lower() + (f".{node.attr_path.sub_attr.lower()}" if node.attr_path.sub_attr else "")
    if parent:
        name = f"{parent}.{name}"
    if name in ("members", "members.value"):
        if isinstance(node, Present):
            return Organization.memberships.any()
        if node.op != CompareOperator.eq or not isinstance(node.value, str):
            return false()
        return Organization.memberships.any(Membership.user_id == node.value)
    if name == "displayname":
        column, fold = func.lower(Organization.display_name), str.lower
    elif name in _COLUMNS:
        column, fold = _COLUMNS[name], (lambda text: text)
    else:
        return false()
    if isinstance(node, Present):
        return column.isnot(None)
    if not isinstance(node.value, str):
        return false()
    value = fold(node.value)
    return {CompareOperator.eq: lambda: column == value, CompareOperator.ne: lambda: column != value,
            CompareOperator.co: lambda: column.contains(value, autoescape=True),
            CompareOperator.sw: lambda: column.startswith(value, autoescape=True),
            CompareOperator.ew: lambda: column.endswith(value, autoescape=True),
            CompareOperator.gt: lambda: column > value, CompareOperator.ge: lambda: column >= value,
            CompareOperator.lt: lambda: column < value, CompareOperator.le: lambda: column <= value}[node.op]()


def search(search_request, position: Any) -> SearchPage:
    scim_filter = search_request.filter
    check_filter_size(scim_filter.ast if scim_filter is not None else None)
    query = db.select(Organization).where(Organization.realm_id == g.realm.id,
                                          _condition(scim_filter.ast if scim_filter is not None else None))
    total = db.session.scalar(db.select(func.count()).select_from(query.subquery()))
    if (search_request.start_index_0 or 0) >= total:
        return SearchPage(total, [])  # also keeps an offset past the database's integers out of SQL
    page = query.order_by(Organization.created_at, Organization.id).offset(search_request.start_index_0 or 0)
    if search_request.count is not None:
        page = page.limit(search_request.count)
    organizations = list(db.session.scalars(page)) if search_request.count != 0 else []
    return SearchPage(total, [to_resource(organization) for organization in organizations])


def create(resource: resources.Group) -> resources.Group:
    try:
        members = _member_users(resource)
        organization = create_organization(g.realm, _slug(resource.display_name or ""),
                                           display_name=resource.display_name)
        organization.external_id = _external_id(resource.external_id)
        _set_members(organization, members)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        raise _service_error(error) from None
    except InvalidValueException:
        db.session.rollback()
        raise
    return to_resource(organization)


def update(resource: resources.Group, expected_version: str | None) -> resources.Group:
    organization = _find(resource.id)
    if expected_version is not None and to_resource(organization).meta.version != expected_version:
        raise PreconditionFailedException(detail="The group changed since it was read")
    try:
        members = _member_users(resource)
        update_organization(organization, display_name=resource.display_name or "")
        organization.external_id = _external_id(resource.external_id)
        _set_members(organization, members)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        raise _service_error(error) from None
    except InvalidValueException:
        db.session.rollback()
        raise
    return to_resource(organization)


def delete(resource_id: str, expected_version: str | None) -> None:
    organization = _find(resource_id)
    if expected_version is not None and to_resource(organization).meta.version != expected_version:
        raise PreconditionFailedException(detail="The group changed since it was read")
    delete_organization(organization)
    db.session.commit()
