from __future__ import annotations

import re

from ..extensions import db
from ..i18n import _
from ..models import User, utcnow
from ..security import hash_password, password_needs_rehash, verify_password
from . import NotFound, ServiceError
from .audit import record_event
from .password_attempts import claim_password_attempt
from .passwords import check_password_policy

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    email = (email or "").strip()
    if len(email) > 320 or not EMAIL.match(email):
        raise ServiceError(_("Enter a valid email address."), field="email")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def find_user_by_email(realm, email: str) -> User | None:
    try:
        email = normalize_email(email)
    except ServiceError:
        return None
    return db.session.scalar(
        db.select(User).filter(User.realm_id == realm.id, db.func.lower(User.email) == email.lower())
    )


def get_user(realm, email_or_id: str) -> User:
    user = db.session.scalar(db.select(User).filter_by(realm_id=realm.id, id=email_or_id))
    if user is None:
        user = find_user_by_email(realm, email_or_id)
    if user is None:
        raise NotFound(f"user '{email_or_id}' does not exist in realm '{realm.name}'")
    return user


def list_users(realm, *, email_contains: str | None = None, limit: int = 100, offset: int = 0):
    query = db.select(User).filter_by(realm_id=realm.id)
    if email_contains:
        query = query.filter(User.email.ilike(f"%{email_contains}%"))
    return list(db.session.scalars(query.order_by(User.email).limit(limit).offset(offset)))


def create_user(
    realm,
    *,
    email: str,
    password: str | None,
    name: str | None = None,
    email_verified: bool = False,
) -> User:
    email = normalize_email(email)
    if find_user_by_email(realm, email) is not None:
        raise ServiceError(_("An account with this email already exists."), field="email")
    if password is not None:
        check_password_policy(realm, password, email=email)
    name = (name or "").strip() or None
    if name and len(name) > 200:
        raise ServiceError(_("Name must be at most 200 characters."), field="name")
    user = User(
        realm_id=realm.id,
        email=email,
        name=name,
        email_verified=email_verified,
        password_hash=hash_password(password) if password is not None else None,
        mfa_enabled=False,
        phone_verified=False,
        phone_set_by_admin=False,
        failed_mfa_attempts=0,
        disabled=False,
    )
    db.session.add(user)
    db.session.flush()
    record_event("user.created", realm=realm, user=user)
    return user


def set_password(user: User, password: str) -> None:
    check_password_policy(user.realm, password, email=user.email)
    user.password_hash = hash_password(password)
    record_event("user.password_changed", realm=user.realm, user=user)


def authenticate_password(realm, email: str, password: str) -> User | None:
    """The user whose email and password match, or None. Takes the same time either way.

    Every call counts against the address's failed-password limit before the password is
    checked (``password_attempts``); raises ``PasswordLoginLocked`` while the address is locked.
    A registration whose address is not yet verified cannot log in: its password was typed by
    whoever registered, not necessarily the owner of the address (``lifecycle.registration``)."""
    attempt = claim_password_attempt(realm, email)
    user = find_user_by_email(realm, email)
    ok = verify_password(user.password_hash if user else None, password or "")
    active = user is not None and not user.disabled and not user.registration_pending
    if not ok or not active:
        attempt.failed(user if active else None)  # a lock mails only an owner who can log in
        return None
    attempt.succeeded()
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def update_user(user: User, *, name=None, email=None, email_verified=None) -> User:
    """A new email address is unverified until verified again (unless ``email_verified`` says so)."""
    if email is not None:
        email = normalize_email(email)
        other = find_user_by_email(user.realm, email)
        if other is not None and other.id != user.id:
            raise ServiceError(_("An account with this email already exists."), field="email")
        if email.lower() != user.email.lower():
            user.email_verified = False
        user.email = email
    if name is not None:
        name = name.strip() or None
        if name and len(name) > 200:
            raise ServiceError(_("Name must be at most 200 characters."), field="name")
        user.name = name
    if email_verified is not None:
        user.email_verified = email_verified
        if email_verified:
            user.registration_pending_since = None
    return user


def delete_user(user: User) -> None:
    record_event("user.deleted", realm=user.realm, user_id=user.id, email=user.email)
    db.session.delete(user)


def touch_last_login(user: User) -> None:
    user.last_login_at = utcnow()
