"""SCIM Users over the realm's accounts, through the same user services as every other surface:
``create_user`` / ``update_user`` / ``change_password`` / ``lock_user`` / ``unlock_user`` /
``delete_user``, so the usual audit events are recorded and webhooks hear them.

Deprovisioning: ``active: false`` locks the account (it can no longer log in, its sessions and
tokens end: ``user.locked``); ``active: true`` unlocks it (a PUT that leaves ``active`` out
changes nothing about it); ``DELETE`` deletes it
(``user.deleted``)."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import g
from scim2_models import (Email, GroupMembership, InvalidValueException, Meta, NotFoundException,
                          PreconditionFailedException, UniquenessException)
from scim2_server.storage import SearchPage

from ..extensions import db
from ..models import User
from ..services import ServiceError
from ..services.account_lock import lock_user, unlock_user
from ..services.sign_out import change_password
from ..services.users import create_user, delete_user, update_user
from . import resources
from .filters import check_filter_size, user_condition
from .memberships import group_memberships


MODEL = resources.User


def version_of(payload: dict) -> str:
    """A weak ETag from what the resource says: it changes whenever the resource does."""
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return f'W/"{digest}"'


def to_resource(user: User) -> resources.User:
    memberships = group_memberships(user)
    resource = resources.User(
        id=user.id,
        external_id=user.external_id,
        user_name=user.email,
        display_name=user.name,
        active=not user.disabled,
        emails=[Email(value=user.email, primary=True, type=Email.Type.work)],
        groups=[GroupMembership(value=group_id, display=display, type="direct", ref=f"Groups/{group_id}")
                for group_id, display in memberships] or None,
    )
    version = version_of(resource.model_dump(mode="json"))
    resource.meta = Meta(resource_type="User", created=user.created_at, last_modified=user.created_at,
                         version=version)
    return resource


def _realm():
    return g.realm


def _find(resource_id: str) -> User:
    user = db.session.scalar(db.select(User).filter_by(realm_id=_realm().id, id=resource_id)) \
        if resource_id and len(resource_id) <= 32 else None
    if user is None:
        raise NotFoundException(detail=f"User {resource_id[:40]} not found")
    return user


def _check_version(user: User, expected_version: str | None) -> None:
    if expected_version is not None and to_resource(user).meta.version != expected_version:
        raise PreconditionFailedException(detail="The user changed since it was read")


def _external_id(value: str | None) -> str | None:
    if value is not None and (len(value) > 255 or "\x00" in value):
        raise InvalidValueException(detail="externalId must be at most 255 characters")
    return value


def _service_error(error: ServiceError):
    if "already exists" in error.message:
        return UniquenessException(detail=error.message)
    return InvalidValueException(detail=error.message)


def get(resource_id: str) -> resources.User:
    return to_resource(_find(resource_id))


def search(search_request, position: Any) -> SearchPage:
    scim_filter = search_request.filter
    check_filter_size(scim_filter.ast if scim_filter is not None else None)
    condition = user_condition(scim_filter.ast if scim_filter is not None else None)
    query = db.select(User).where(User.realm_id == _realm().id, condition)
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery()))
    start = search_request.start_index_0 or 0
    count = search_request.count
    if start >= total:
        return SearchPage(total, [])  # also keeps an offset past the database's integers out of SQL
    page = query.order_by(User.created_at, User.id).offset(start)
    if count is not None:
        page = page.limit(count)
    users = list(db.session.scalars(page)) if count != 0 else []
    return SearchPage(total, [to_resource(user) for user in users])


def create(resource: resources.User) -> resources.User:
    realm = _realm()
    try:
        user = create_user(realm, email=resource.user_name or "", password=resource.password,
                           name=resource.display_name)
        user.external_id = _external_id(resource.external_id)
        if resource.active is False:
            lock_user(user, by="scim")
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        raise _service_error(error) from None
    return to_resource(user)


def update(resource: resources.User, expected_version: str | None) -> resources.User:
    """PUT and PATCH: ``resource`` is the whole new state (scim2-server applied the request to
    what ``get`` returned)."""
    user = _find(resource.id)
    _check_version(user, expected_version)
    try:
        update_user(user, email=resource.user_name or "", name=resource.display_name or "")
        user.external_id = _external_id(resource.external_id)
        if resource.password is not None:
            change_password(user, resource.password, reason="scim")
        if resource.active is False and not user.disabled:
            lock_user(user, by="scim")
        elif resource.active is True and user.disabled:
            unlock_user(user, by="scim")
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        raise _service_error(error) from None
    return to_resource(user)


def delete(resource_id: str, expected_version: str | None) -> None:
    user = _find(resource_id)
    _check_version(user, expected_version)
    delete_user(user)
    db.session.commit()
