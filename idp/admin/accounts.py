"""Console administrators: users of the ``admin`` realm with a role, and what each role may do.

Roles (issue 8): ``owner`` may do everything; ``operator`` manages users and clients;
``viewer`` reads. The ``admin`` realm itself (its users, clients and settings) is the owners'
alone, so an operator cannot raise their own role or weaken another admin's login."""
from __future__ import annotations

from dataclasses import dataclass

from ..extensions import db
from ..services import ServiceError
from ..services.realms import ADMIN_REALM, ensure_admin_realm, get_realm
from ..services.users import create_user
from .models import AdminRole

ROLES = ("owner", "operator", "viewer")
ROLE_DESCRIPTIONS = {
    "owner": "everything",
    "operator": "users and clients",
    "viewer": "read-only",
}

#: The roles that may change each area of the console; reading is open to every role.
AREA_ROLES = {
    "realms": ("owner",),
    "sms": ("owner",),
    "providers": ("owner",),
    "api_keys": ("owner",),
    "webhooks": ("owner",),
    "organizations": ("owner", "operator"),
    "roles": ("owner",),
    "users": ("owner", "operator"),
    "clients": ("owner", "operator"),
    "admins": ("owner",),
}

#: Settings of the ``admin`` realm the console will not turn off: without them no admin could
#: log in with a second factor, and the console requires one.
ADMIN_REALM_LOCKED_ON = ("mfa_enabled", "mfa_login_form", "mfa_required", "totp_enabled")


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ServiceError(f"role must be one of {', '.join(ROLES)}", field="role")
    return role


def admin_role_of(user) -> str | None:
    """The console role of ``user``, or None for anyone who is not an administrator."""
    if user is None or user.realm.name != ADMIN_REALM:
        return None
    row = db.session.get(AdminRole, user.id)
    return row.role if row is not None else None


def create_admin(*, email: str, password: str, role: str, name: str | None = None):
    """A new member of the ``admin`` realm with a console role. The first console login asks
    them to set up an authenticator app (the realm requires a second factor)."""
    _check_role(role)
    realm = ensure_admin_realm()
    user = create_user(realm, email=email, password=password, name=name, email_verified=True)
    db.session.add(AdminRole(user_id=user.id, role=role))
    db.session.flush()
    return user


def set_admin_role(user, role: str) -> None:
    _check_role(role)
    if user.realm.name != ADMIN_REALM:
        raise ServiceError(f"only users of the '{ADMIN_REALM}' realm can be administrators")
    row = db.session.get(AdminRole, user.id)
    if row is None:
        db.session.add(AdminRole(user_id=user.id, role=role))
    else:
        row.role = role


def list_admins() -> list[tuple[object, str]]:
    realm = get_realm(ADMIN_REALM)
    from ..models import User

    rows = db.session.execute(
        db.select(User, AdminRole.role).join(AdminRole, AdminRole.user_id == User.id)
        .filter(User.realm_id == realm.id).order_by(User.email)
    )
    return [(user, role) for user, role in rows]


def role_may(role: str | None, area: str, realm=None) -> bool:
    """Whether ``role`` may change ``area`` (a key of ``AREA_ROLES``) of ``realm``."""
    if role == "owner":
        return True
    if role is None or (realm is not None and realm.name == ADMIN_REALM):
        return False
    return role in AREA_ROLES[area]


def check_admin_realm_settings(realm, changes: dict) -> None:
    """The console's guard on the ``admin`` realm (the CLI stays the way out of a mistake)."""
    if realm.name != ADMIN_REALM:
        return
    for key in ADMIN_REALM_LOCKED_ON:
        if changes.get(key) is False:
            raise ServiceError(
                "The admin realm always requires two-factor authentication with an authenticator app: "
                "the console accepts only logins that passed a second factor.",
                field=key,
            )
    if changes.get("registration_enabled"):
        raise ServiceError("Administrators are added with 'idp admins create'; the admin realm has no "
                           "self-registration.", field="registration_enabled")


@dataclass
class ConsoleAdmin:
    """The administrator behind the current console request."""

    user: object
    role: str
    browser_session: object

    @property
    def email(self) -> str:
        return self.user.email

    def may(self, area: str, realm=None) -> bool:
        return role_may(self.role, area, realm)
