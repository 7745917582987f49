from __future__ import annotations

import re

from ..extensions import db
from ..models import Realm
from . import NotFound, ServiceError
from .keys import create_realm_keys
from .lookup_cache import cached_row
from .passwords import default_min_length

REALM_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def find_realm(name: str) -> Realm | None:
    """The realm called ``name``; its row comes from this process's cache when it has not
    changed since (``idp.services.lookup_cache``)."""
    if not name or "\x00" in name:
        return None  # PostgreSQL refuses NUL in text: no realm has one
    return cached_row(("realm", name), Realm,
                      lambda: db.session.scalar(db.select(Realm).filter_by(name=name)))


def get_realm(name: str) -> Realm:
    realm = find_realm(name)
    if realm is None:
        raise NotFound(f"realm '{name}' does not exist")
    return realm


def list_realms() -> list[Realm]:
    return list(db.session.scalars(db.select(Realm).order_by(Realm.name)))


def create_realm(name: str, *, display_name: str | None = None, **settings) -> Realm:
    if not REALM_NAME.match(name or ""):
        raise ServiceError(
            "realm name must be 1-63 lowercase letters, digits or hyphens, starting with a "
            "letter or digit",
            field="name",
        )
    if find_realm(name) is not None:
        raise ServiceError(f"realm '{name}' already exists", field="name")
    realm = Realm(
        name=name,
        display_name=display_name or name.replace("-", " ").title(),
        registration_enabled=True,
        mfa_enabled=False,
        mfa_login_form=True,
        mfa_registration_form=False,
        mfa_required=False,
        sms_enabled=False,
        totp_enabled=False,
        users_may_toggle_mfa=True,
        sms_allowed_countries=[],
        theme="default",
        password_min_length=default_min_length(),
    )
    db.session.add(realm)
    db.session.flush()
    create_realm_keys(realm)
    if settings:
        update_realm(realm, **settings)
    return realm


def ensure_default_realm() -> Realm:
    """The realms every instance starts with: ``default``, and ``admin`` for the console."""
    realm = find_realm("default")
    if realm is None:
        realm = create_realm("default", display_name="Default")
    ensure_admin_realm()
    return realm


ADMIN_REALM = "admin"


def ensure_admin_realm() -> Realm:
    """The realm the admin console (``idp.admin``) logs in through: no self-registration, and
    every member enrols an authenticator app (``idp admins create`` adds members)."""
    realm = find_realm(ADMIN_REALM)
    if realm is None:
        realm = create_realm(
            ADMIN_REALM,
            display_name="Administration",
            registration_enabled=False,
            mfa_enabled=True,
            mfa_login_form=True,
            mfa_required=True,
            totp_enabled=True,
            users_may_toggle_mfa=False,
        )
    return realm


def update_realm(realm: Realm, **changes) -> Realm:
    """Apply settings changes; MFA rules are checked by the mfa policy service when present."""
    from .mfa_policy import apply_realm_settings

    apply_realm_settings(realm, changes)
    return realm
