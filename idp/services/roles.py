"""Realm roles and their permissions, and the realm roles of users (issue 16).

A role is a named set of permissions, both chosen by the operator. The same roles serve inside
organizations: a membership holds roles of its realm (``services.organizations``), so an
operator defines ``billing-admin`` once and gives it to a user for the whole realm or inside
one organization only. The CLI, console and management API all call these functions; the
caller commits."""
from __future__ import annotations

import re

from ..events import record_event
from ..extensions import db
from ..i18n import _
from ..models import Role, User
from ..models.organization import user_roles
from . import NotFound, ServiceError

#: A role's name: a slug, what tokens carry in ``roles``.
ROLE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{0,62}[a-z0-9])?$")
#: A permission: one or more segments of letters, digits, ``_``, ``.`` or ``-`` joined by ``:``
#: (``invoices:read``, ``read:invoices``, ``reports``); no spaces, since OAuth scopes and the
#: space-separated lists of some relying parties must be able to carry them.
PERMISSION = re.compile(r"^[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+){0,4}$")
MAX_PERMISSION_LENGTH = 100
MAX_PERMISSIONS_PER_ROLE = 100
MAX_ROLES_PER_REALM = 500
MAX_DESCRIPTION_LENGTH = 200


def normalize_role_name(name: str) -> str:
    name = (name or "").strip().lower()
    if not ROLE_NAME.fullmatch(name):
        raise ServiceError(_("A role name is 1 to 64 lower-case letters, digits, dots, dashes or underscores, "
                             "starting and ending with a letter or digit."), field="name")
    return name


def normalize_permissions(permissions) -> list[str]:
    """Sorted, without duplicates; every one checked against ``PERMISSION``."""
    cleaned = set()
    for permission in permissions or []:
        permission = (permission or "").strip()
        if not permission:
            continue
        if len(permission) > MAX_PERMISSION_LENGTH or not PERMISSION.fullmatch(permission):
            raise ServiceError(_("'%(permission)s' is not a valid permission: use letters, digits, '_', '.' or '-' "
                                 "in up to five parts joined by ':' (for example invoices:read), at most "
                                 "%(limit)s characters.", permission=permission[:MAX_PERMISSION_LENGTH],
                                 limit=MAX_PERMISSION_LENGTH), field="permissions")
        cleaned.add(permission)
    if len(cleaned) > MAX_PERMISSIONS_PER_ROLE:
        raise ServiceError(_("A role holds at most %(limit)s permissions.", limit=MAX_PERMISSIONS_PER_ROLE),
                           field="permissions")
    return sorted(cleaned)


def _description(description: str | None) -> str | None:
    description = (description or "").strip() or None
    if description and len(description) > MAX_DESCRIPTION_LENGTH:
        raise ServiceError(_("The description is at most %(limit)s characters.", limit=MAX_DESCRIPTION_LENGTH),
                           field="description")
    return description


def list_roles(realm) -> list[Role]:
    return list(db.session.scalars(db.select(Role).filter_by(realm_id=realm.id).order_by(Role.name)))


def find_role(realm, name: str) -> Role | None:
    if not isinstance(name, str) or not name:
        return None
    return db.session.scalar(db.select(Role).filter_by(realm_id=realm.id, name=name.strip().lower()))


def get_role(realm, name: str) -> Role:
    role = find_role(realm, name)
    if role is None:
        raise NotFound(_("Role '%(name)s' does not exist in this realm.", name=name))
    return role


def get_roles(realm, names) -> list[Role]:
    """The roles named (each must exist), without duplicates, by name."""
    return sorted({role.id: role for role in (get_role(realm, name) for name in names or [])}.values(),
                  key=lambda role: role.name)


def create_role(realm, name: str, *, permissions=(), description: str | None = None) -> Role:
    name = normalize_role_name(name)
    if find_role(realm, name) is not None:
        raise ServiceError(_("A role with this name already exists."), field="name")
    if db.session.scalar(db.select(db.func.count(Role.id)).filter_by(realm_id=realm.id)) >= MAX_ROLES_PER_REALM:
        raise ServiceError(_("A realm holds at most %(limit)s roles.", limit=MAX_ROLES_PER_REALM))
    role = Role(realm_id=realm.id, name=name, description=_description(description),
                permissions=normalize_permissions(permissions))
    db.session.add(role)
    db.session.flush()
    record_event("role.created", realm=realm, role=role.name, permissions=role.permissions)
    return role


def update_role(role: Role, *, permissions=None, add_permissions=(), remove_permissions=(),
                description: str | None = None) -> Role:
    """``permissions`` replaces the set; ``add_permissions``/``remove_permissions`` change it."""
    current = set(role.permissions or []) if permissions is None else set(normalize_permissions(permissions))
    current |= set(normalize_permissions(add_permissions))
    current -= set(p.strip() for p in remove_permissions or [])
    changed = {}
    new_permissions = normalize_permissions(current)
    if new_permissions != list(role.permissions or []):
        role.permissions = new_permissions
        changed["permissions"] = new_permissions
    if description is not None:
        new_description = _description(description)
        if new_description != role.description:
            role.description = new_description
            changed["description"] = new_description or ""
    if changed:
        record_event("role.updated", realm=role.realm, role=role.name, **changed)
    return role


def delete_role(role: Role) -> None:
    """Users and members holding it lose it (the association rows cascade)."""
    record_event("role.deleted", realm=role.realm, role=role.name)
    db.session.delete(role)
    db.session.flush()


def realm_roles_of(user: User) -> list[Role]:
    return list(db.session.scalars(
        db.select(Role).join(user_roles, user_roles.c.role_id == Role.id)
        .where(user_roles.c.user_id == user.id).order_by(Role.name)))


def users_with_role(role: Role) -> list[User]:
    return list(db.session.scalars(
        db.select(User).join(user_roles, user_roles.c.user_id == User.id)
        .where(user_roles.c.role_id == role.id).order_by(User.email)))


def assign_role(user: User, role: Role) -> bool:
    """Give ``user`` the realm role; False when they held it already."""
    _same_realm(user, role)
    if any(held.id == role.id for held in realm_roles_of(user)):
        return False
    db.session.execute(user_roles.insert().values(user_id=user.id, role_id=role.id))
    record_event("role.assigned", realm=role.realm, user=user, role=role.name)
    return True


def unassign_role(user: User, role: Role) -> bool:
    _same_realm(user, role)
    removed = db.session.execute(
        user_roles.delete().where(user_roles.c.user_id == user.id, user_roles.c.role_id == role.id)).rowcount
    if removed:
        record_event("role.unassigned", realm=role.realm, user=user, role=role.name)
    return bool(removed)


def permissions_of(roles) -> list[str]:
    return sorted({permission for role in roles for permission in role.permissions or []})


def _same_realm(user: User, role: Role) -> None:
    if user.realm_id != role.realm_id:
        raise ServiceError(_("The user and the role belong to different realms."))
