"""API keys for the management API: ``Authorization: Bearer idpk_...``.

The secret is shown once, at creation; only its keyed digest is stored (a leaked table cannot
be used to test guesses without the instance key). A realm key works in its own realm only; a
server-level key (no realm, made with ``idp api-keys create --server``) works in every realm,
for an operator of many realms, and is the only kind that may create realms.

Each key holds scopes (``SCOPES``) and may carry an expiry. A write scope includes reading the
same resources (``users:write`` can read users). A key that may manage keys
(``api_keys:admin``) can only give a new key scopes it holds itself, never a later expiry than
its own, and never make a server-level key, so a key cannot mint a stronger one.

Revoking keeps the row, so the audit trail and ``last_used_at`` stay readable; the name can
then be given to a new key."""
from __future__ import annotations

import datetime as dt
import re

from ..extensions import db
from ..models import ApiKey, utcnow
from ..security import digests_equal, keyed_digest, random_token
from . import NotFound, ServiceError
from .api_key_scopes import IMPLIED, SCOPES
from .audit import record_event

SECRET_PREFIX = "idpk_"
#: ``last_used_at`` is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)

#: A key may expire at most this far ahead (a key that should live longer is rotated).
MAX_LIFETIME = dt.timedelta(days=3650)
_DURATION = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def _digest(secret: str) -> str:
    return keyed_digest(f"api-key:{secret}")


def granted_scopes(key: ApiKey) -> set[str]:
    """The scopes ``key`` holds, with those its write scopes include."""
    held = set(key.scopes or [])
    for scope in list(held):
        held.update(IMPLIED.get(scope, ()))
    return held


def key_allows(key: ApiKey, scope: str) -> bool:
    return scope in granted_scopes(key)


def check_scopes(scopes) -> list[str]:
    """The scopes in their canonical order, or ``ServiceError`` naming the unknown ones."""
    if isinstance(scopes, str) or not isinstance(scopes, list | tuple | set):
        raise ServiceError("scopes must be a list", field="scopes")
    wanted = {str(scope).strip() for scope in scopes if str(scope).strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ServiceError(f"unknown scope {', '.join(s[:40] for s in unknown[:5])}; scopes are "
                           f"{', '.join(SCOPES)}", field="scopes")
    if not wanted:
        raise ServiceError("give the key at least one scope", field="scopes")
    return [scope for scope in SCOPES if scope in wanted]


def parse_expiry(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """``--expires``: a duration from now (``12h``, ``90d``, ``8w``) or an ISO 8601 date or
    date-time (a value without an offset is UTC)."""
    now = now or utcnow()
    text = (text or "").strip()
    match = _DURATION.match(text)
    if match:
        return now + dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ServiceError(f"'{text[:40]}' is not an expiry: give a duration such as 90d, 12h or 8w, or a date "
                           "such as 2027-01-31", field="expires_at") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _check_expiry(expires_at: dt.datetime | None) -> dt.datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
    now = utcnow()
    if expires_at <= now:
        raise ServiceError("the expiry must be in the future", field="expires_at")
    if expires_at - now > MAX_LIFETIME:
        raise ServiceError(f"a key may expire at most {MAX_LIFETIME.days} days from now", field="expires_at")
    return expires_at


def list_api_keys(realm, *, include_revoked: bool = True) -> list[ApiKey]:
    """The keys of ``realm``, or the server-level keys when ``realm`` is None."""
    query = db.select(ApiKey).filter(ApiKey.realm_id.is_(None) if realm is None else ApiKey.realm_id == realm.id)
    if not include_revoked:
        query = query.filter(ApiKey.revoked_at.is_(None))
    return list(db.session.scalars(query.order_by(ApiKey.created_at, ApiKey.id)))


def _owner(realm) -> str:
    return "at server level" if realm is None else f"in realm '{realm.name}'"


def _active_key_named(realm, name: str) -> ApiKey | None:
    return next((key for key in list_api_keys(realm, include_revoked=False) if key.name == name), None)


def create_api_key(realm, name: str, *, scopes=None, expires_at: dt.datetime | None = None,
                   created_by: ApiKey | None = None) -> tuple[ApiKey, str]:
    """A new key and its plain secret (show it once). ``realm`` None makes a server-level key.
    ``scopes`` None gives every scope (the CLI's default); ``created_by`` is the key that asked
    through the API, whose own scopes and expiry bound the new key's."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError("API key name must be 1-100 characters", field="name")
    scopes = list(SCOPES) if scopes is None else check_scopes(scopes)
    expires_at = _check_expiry(expires_at)
    if created_by is not None:
        if realm is None:
            raise ServiceError("server-level keys are made with 'idp api-keys create --server'", field="realm")
        beyond = [scope for scope in scopes if not key_allows(created_by, scope)]
        if beyond:
            raise ServiceError(f"this key cannot grant scopes it does not hold: {', '.join(beyond)}", field="scopes")
        if created_by.expires_at is not None and (expires_at is None or expires_at > created_by.expires_at):
            raise ServiceError("the new key must expire no later than the key that creates it", field="expires_at")
    if _active_key_named(realm, name) is not None:
        raise ServiceError(f"an active API key named '{name}' already exists {_owner(realm)}", field="name")
    secret = SECRET_PREFIX + random_token(32)
    key = ApiKey(realm_id=realm.id if realm is not None else None, name=name, prefix=secret[:12],
                 key_digest=_digest(secret), created_at=utcnow(), scopes=scopes, expires_at=expires_at)
    db.session.add(key)
    db.session.flush()
    record_event("api_key.created", realm=realm, name=name, prefix=key.prefix, scopes=scopes,
                 expires_at=expires_at.isoformat() if expires_at else None)
    return key, secret


def get_api_key(realm, key_id: int) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None or key.realm_id != (realm.id if realm is not None else None):
        raise NotFound(f"there is no API key {key_id} {_owner(realm)}")
    return key


def revoke(key: ApiKey) -> ApiKey:
    """Revoke ``key`` from now on (a key already revoked stays as it was)."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record_event("api_key.revoked", realm=key.realm, name=key.name, prefix=key.prefix)
    return key


def revoke_api_key(realm, name: str) -> ApiKey:
    key = _active_key_named(realm, name)
    if key is None:
        raise NotFound(f"there is no active API key named '{name}' {_owner(realm)}")
    return revoke(key)


def authenticate_api_key(secret: str) -> ApiKey | None:
    """The active, unexpired key whose secret this is (of any realm: the caller checks the
    realm and the scope), with its last-used time brought up to date; None otherwise."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    digest = _digest(secret)
    key = db.session.scalar(
        db.select(ApiKey).filter_by(key_digest=digest).execution_options(populate_existing=True))
    if key is None or not digests_equal(key.key_digest, digest) or not key.is_active():
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
        db.session.commit()
    return key
