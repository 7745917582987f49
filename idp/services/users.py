"""Users of a realm, and the one rule by which two email addresses are the same account.

An address is kept as the person typed it (the domain lower-cased) for display and mail, and
compared only through ``email_key``, stored in ``users.email_normalized`` (unique per realm).
SQL ``lower()`` is not used: SQLite's folds ASCII only, so ``Émile@`` and ``émile@`` would be two
accounts there and one on PostgreSQL."""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata

import idna
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ..database import (
    DirectStatement,
    model_columns,
    model_values,
    persistent_instance,
    session_has_written_nothing,
)
from ..extensions import db
from ..i18n import _
from ..models import User, utcnow
from ..security import hash_password, password_needs_rehash, verify_password
from . import NotFound, ServiceError
from .audit import record_event
from .password_attempts import claim_password_attempt
from .passwords import check_password_policy

#: A registration whose address was never verified is deleted after this long.
ABANDONED_AFTER = dt.timedelta(days=7)

#: One mailbox: no spaces, and none of the characters that make a header hold several
#: addresses, a display name or a quoted local part (``,;<>()[]"\``; RFC 5322's specials, which
#: a dot-atom address never contains).
EMAIL = re.compile(r'^[^@\s,;<>()\[\]"\\]{1,64}@[^@\s,;<>()\[\]"\\]+\.[^@\s,;<>()\[\]"\\]+$')
#: The longest key ``users.email_normalized`` holds (folding and punycode can lengthen an address).
MAX_EMAIL_KEY_LENGTH = 512
#: Control, format (zero-width), surrogate, private-use and unassigned characters: invisible or
#: meaningless in an address, and a way to make one look like another's.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def email_key(email: str) -> str:
    """The form in which two addresses are compared: equal keys, one mailbox, one account.

    Unicode NFKC (compatibility forms such as fullwidth letters and ligatures fold to the plain
    letters), then ``casefold()`` of the part before the last ``@`` (so ``É``, ``é`` and ``ÉMILE``
    are one), and the domain mapped by IDNA UTS #46 to its ASCII form (``bücher.example`` and
    ``xn--bcher-kva.example`` are one). The domain is not passed through ``casefold()``: UTS #46
    folds its case itself, and ``casefold()`` would turn ``ß`` into ``ss``, merging two domains
    that DNS keeps apart. Letters of different scripts that look alike (Cyrillic ``а``, Latin
    ``a``) stay different: they are different mailboxes (README, "Email addresses").

    Total: any string has a key, so stored rows and typed input compare alike; a domain that
    IDNA refuses keeps its NFKC-casefolded form (``normalize_email`` refuses such new addresses
    unless they are ASCII). Idempotent: ``email_key(email_key(x)) == email_key(x)``."""
    text = unicodedata.normalize("NFKC", email or "").strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return _fold(text)
    return f"{_fold(local)}@{_domain_key(domain)}"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@functools.lru_cache(maxsize=4096)
def _domain_key(domain: str) -> str:
    """A fully qualified ``example.com.`` is the domain ``example.com``."""
    domain = domain.rstrip(".")
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return _fold(domain)


def _idna_accepts(domain: str) -> bool:
    try:
        idna.encode(domain, uts46=True)
    except (idna.IDNAError, UnicodeError):
        return False
    return True


@event.listens_for(User.email, "set")
def _key_follows_address(user, email, _old, _initiator):
    """Wherever an address is set (``User(email=...)``, ``user.email = ...``), its key is too."""
    user.email_normalized = email_key(email) if email is not None else None


def normalize_email(email: str) -> str:
    """The address as it is stored and mailed: as typed in NFKC, the domain lower-cased. Refuses what is
    not an address, what has no key (an ``@`` hidden in a compatibility form, an internationalised
    domain IDNA refuses) and invisible characters."""
    email = (email or "").strip()
    invalid = ServiceError(_("Enter a valid email address."), field="email")
    if len(email) > 320 or not EMAIL.match(email):
        raise invalid
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in email):
        raise invalid
    local, domain = email.rsplit("@", 1)
    compatible_local, compatible_domain = unicodedata.normalize("NFKC", local), unicodedata.normalize("NFKC", domain)
    if "@" in compatible_local or "@" in compatible_domain:
        raise invalid
    if compatible_domain.endswith("."):
        raise invalid
    if (not compatible_domain.isascii() or "xn--" in compatible_domain.lower()) and \
            not _idna_accepts(compatible_domain):
        raise invalid
    if len(email_key(email)) > MAX_EMAIL_KEY_LENGTH:
        raise invalid
    # stored in NFKC: a compatibility spelling (fullwidth letters) is no mailbox anyone reads,
    # and keeping it would let a squatter's spelling receive the owner's mail
    return f"{compatible_local}@{compatible_domain.lower()}"


def find_user_by_email(realm, email: str) -> User | None:
    """The realm's user with this address. At a login's password this is the request's first
    read of the user: it runs as a ``DirectStatement`` (a tenth of the ORM query's CPU) while
    the session has written nothing it would have to see (``session_has_written_nothing``)."""
    try:
        email = normalize_email(email)
    except ServiceError:
        return None
    session = db.session()
    if not session_has_written_nothing(session):
        return db.session.scalar(
            db.select(User).filter(User.realm_id == realm.id, User.email_normalized == email_key(email)))
    row = _user_by_email().first(db.engine, {"realm_id": realm.id, "email_normalized": email_key(email)})
    return persistent_instance(session, User, model_values(row, User)) if row is not None else None


@functools.cache
def _user_by_email() -> DirectStatement:
    return DirectStatement(db.select(*model_columns(User)).where(
        User.realm_id == db.bindparam("realm_id"), User.email_normalized == db.bindparam("email_normalized")))


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
        # the stored form for what was typed as stored, the folded form for any other spelling
        query = query.filter(db.or_(User.email.icontains(email_contains, autoescape=True),
                                    User.email_normalized.contains(_fold(email_contains), autoescape=True)))
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
        failed_mfa_attempts=0,
        disabled=False,
    )
    db.session.add(user)
    _flush_unique_email()
    record_event("user.created", realm=realm, user=user)
    return user


def _flush_unique_email() -> None:
    """Two requests that create (or rename to) one address at the same moment: the unique
    ``(realm_id, email_normalized)`` stops the second, which gets the same answer as when the
    first had committed before it looked. The caller's transaction is rolled back."""
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if "email" not in str(error.orig):
            raise
        raise ServiceError(_("An account with this email already exists."), field="email") from None


def set_password(user: User, password: str, **details) -> None:
    """Only the password. Someone else setting it for the user also signs them out:
    ``sign_out.change_password``. ``details`` go into the audit event."""
    check_password_policy(user.realm, password, email=user.email)
    user.password_hash = hash_password(password)
    record_event("user.password_changed", realm=user.realm, user=user, **details)


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
        _rehash_password(user, password)
    return user


def _rehash_password(user: User, password: str) -> None:
    """Store the password, just verified, hashed with the current settings, unless the stored
    hash is no longer the one verified: a password reset or change committed since this
    request read the user (a verify and a hash take tens of milliseconds) keeps its new
    password, which the old one must never overwrite."""
    verified = user.password_hash
    rehashed = hash_password(password)
    changed = db.session.execute(
        db.update(User).where(User.id == user.id, User.password_hash == verified).values(password_hash=rehashed)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        set_committed_value(user, "password_hash", rehashed)


def update_user(user: User, *, name=None, email=None, email_verified=None) -> User:
    """A new email address is unverified until verified again (unless ``email_verified`` says so)."""
    if email is not None:
        email = normalize_email(email)
        other = find_user_by_email(user.realm, email)
        if other is not None and other.id != user.id:
            raise ServiceError(_("An account with this email already exists."), field="email")
        if email_key(email) != user.email_normalized:
            user.email_verified = False
        user.email = email
        _flush_unique_email()
    if name is not None:
        name = name.strip() or None
        if name and len(name) > 200:
            raise ServiceError(_("Name must be at most 200 characters."), field="name")
        user.name = name
    if email_verified is not None:
        if email_verified and user.registration_pending:
            # whoever registered chose the password, and nobody proved the mailbox: an
            # administrator vouching for the address must not make a stranger's password live
            user.password_hash = None
            record_event("registration.verified_by_administrator", realm=user.realm, user=user,
                         password_dropped=True)
        user.email_verified = email_verified
        if email_verified:
            user.registration_pending_since = None
    return user


def delete_abandoned_registrations(now: dt.datetime | None = None, *, limit: int | None = None) -> int:
    """Delete registrations (``idp.lifecycle.registration``) whose address was not verified
    within ``ABANDONED_AFTER`` (at most
    ``limit``, oldest first); returns how many. Each new registration runs it with a small
    limit, so abandoned ones cannot pile up faster than they go; a periodic clean-up may run it
    without one. The caller commits."""
    cutoff = (now or utcnow()) - ABANDONED_AFTER
    query = (db.select(User).where(User.registration_pending_since < cutoff, User.email_verified.is_(False))
             .order_by(User.registration_pending_since))
    abandoned = list(db.session.scalars(query.limit(limit) if limit else query))
    for user in abandoned:
        delete_user(user)
    return len(abandoned)


def delete_user(user: User) -> None:
    record_event("user.deleted", realm=user.realm, user_id=user.id, email=user.email)
    db.session.delete(user)


def touch_last_login(user: User) -> None:
    user.last_login_at = utcnow()
