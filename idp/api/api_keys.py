"""Realm API keys for the management API: ``Authorization: Bearer idpk_...``.

The secret is shown once, at creation; only its keyed digest is stored (a leaked table cannot
be used to test guesses without the instance key). A key works in its own realm only. Revoking
keeps the row, so the audit trail and ``last_used_at`` stay readable; the name can then be
given to a new key."""
from __future__ import annotations

import datetime as dt

from ..extensions import db
from ..models import ApiKey, utcnow
from ..security import digests_equal, keyed_digest, random_token
from ..services import NotFound, ServiceError
from ..services.audit import record_event

SECRET_PREFIX = "idpk_"
#: ``last_used_at`` is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


def _digest(secret: str) -> str:
    return keyed_digest(f"api-key:{secret}")


def list_api_keys(realm, *, include_revoked: bool = True) -> list[ApiKey]:
    query = db.select(ApiKey).filter_by(realm_id=realm.id)
    if not include_revoked:
        query = query.filter(ApiKey.revoked_at.is_(None))
    return list(db.session.scalars(query.order_by(ApiKey.created_at, ApiKey.id)))


def _active_key_named(realm, name: str) -> ApiKey | None:
    return db.session.scalar(
        db.select(ApiKey).filter_by(realm_id=realm.id, name=name).filter(ApiKey.revoked_at.is_(None))
    )


def create_api_key(realm, name: str) -> tuple[ApiKey, str]:
    """A new key and its plain secret (show it once)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError("API key name must be 1-100 characters", field="name")
    if _active_key_named(realm, name) is not None:
        raise ServiceError(f"an active API key named '{name}' already exists in realm '{realm.name}'", field="name")
    secret = SECRET_PREFIX + random_token(32)
    key = ApiKey(realm_id=realm.id, name=name, prefix=secret[:12], key_digest=_digest(secret), created_at=utcnow())
    db.session.add(key)
    db.session.flush()
    record_event("api_key.created", realm=realm, name=name, prefix=key.prefix)
    return key, secret


def revoke_api_key(realm, name: str) -> ApiKey:
    key = _active_key_named(realm, name)
    if key is None:
        raise NotFound(f"there is no active API key named '{name}' in realm '{realm.name}'")
    key.revoked_at = utcnow()
    record_event("api_key.revoked", realm=realm, name=name, prefix=key.prefix)
    return key


def authenticate_api_key(secret: str) -> ApiKey | None:
    """The active key whose secret this is (of any realm: the caller checks the realm), with
    its last-used time brought up to date; None for an unknown or revoked key."""
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
