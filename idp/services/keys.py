"""Per-realm signing keys: one current key per algorithm, older ones published until the
tokens they signed have expired."""
from __future__ import annotations

import datetime as dt
import json

from flask import g, has_app_context
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import SigningKey, utcnow
from ..security import decrypt, encrypt
from .lookup_cache import cached

SIGNING_ALGORITHMS = ("RS256", "ES256", "EdDSA")
ID_TOKEN_ALGORITHMS = SIGNING_ALGORITHMS
ACCESS_TOKEN_ALGORITHM = "ES256"


def _generate(alg: str):
    if alg == "RS256":
        return RSAKey.generate_key(2048, auto_kid=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", auto_kid=True)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", auto_kid=True)
    raise ValueError(f"unsupported algorithm {alg}")


_IMPORTERS = {"RS256": RSAKey, "ES256": ECKey, "EdDSA": OKPKey}


def create_realm_keys(realm) -> list[SigningKey]:
    if has_app_context():
        g.pop("signing_keys", None)
    rows = []
    for alg in SIGNING_ALGORITHMS:
        key = _generate(alg)
        public = key.as_dict(private=False)
        public.update({"alg": alg, "use": "sig", "kid": key.kid})
        row = SigningKey(
            realm_id=realm.id,
            kid=key.kid,
            alg=alg,
            private_jwk_encrypted=encrypt(json.dumps(key.as_dict(private=True))),
            public_jwk=public,
        )
        db.session.add(row)
        rows.append(row)
    return rows


def rotate_realm_keys(realm) -> list[SigningKey]:
    """New keys sign from now on; the previous ones stay in the JWKS to verify what they signed."""
    now = utcnow()
    for row in db.session.scalars(
        db.select(SigningKey).filter_by(realm_id=realm.id, retired_at=None)
    ):
        row.retired_at = now
    db.session.flush()
    # The discovery and JWKS documents are rebuilt once this commits, as everything derived from
    # the keys is (``idp.services.lookup_cache``).
    return create_realm_keys(realm)


def _max_token_lifetime(realm, settings) -> int:
    return max(
        realm.id_token_lifetime or settings.tokens.id_token_lifetime,
        realm.access_token_lifetime or settings.tokens.access_token_lifetime,
        300,
    )


def published_keys(realm, settings) -> list[SigningKey]:
    horizon = utcnow() - dt.timedelta(seconds=_max_token_lifetime(realm, settings))
    rows = db.session.scalars(
        db.select(SigningKey)
        .filter(SigningKey.realm_id == realm.id)
        .filter((SigningKey.retired_at.is_(None)) | (SigningKey.retired_at > horizon))
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
    )
    return list(rows)


def jwks_document(realm, settings) -> dict:
    return {"keys": [dict(row.public_jwk) for row in published_keys(realm, settings)]}


def public_key_set(realm, settings) -> KeySet:
    """The keys tokens are verified with, cached per process until the keys or the realm change
    (``idp.services.lookup_cache``) or a retired key passes its horizon."""
    def load():
        rows = published_keys(realm, settings)
        lifetime = _max_token_lifetime(realm, settings)
        horizons = [row.retired_at.timestamp() + lifetime for row in rows if row.retired_at is not None]
        return KeySet.import_key_set({"keys": [dict(row.public_jwk) for row in rows]}), min(horizons, default=None)

    key_set, _until = cached(("public_keys", realm.id), load, valid_until=lambda value: value[1])
    return key_set


_private_cache: dict[str, object] = {}


@event.listens_for(Session, "after_rollback")
def _forget_memoised_signing_keys(_session) -> None:
    """A key read in a transaction that rolled back (a rotation undone) must not sign later."""
    if has_app_context():
        g.pop("signing_keys", None)


def current_signing_key(realm, alg: str):
    """The realm's current private key for ``alg`` as a joserfc key (decrypted once per kid).

    Kept per process until a key of any realm changes (``idp.services.lookup_cache``), and
    once per request besides (a token response signs up to three JWTs), so a rotation reaches
    the next request on every worker."""
    memo = g.setdefault("signing_keys", {}) if has_app_context() else {}
    found = memo.get((realm.id, alg))
    if found is None:
        realm_id = realm.id
        found = memo[(realm_id, alg)] = cached(("signing_key", realm_id, alg), lambda: _current_signing_key(realm, alg))
    return found


def _current_signing_key(realm, alg: str):
    row = db.session.scalar(
        db.select(SigningKey)
        .filter_by(realm_id=realm.id, alg=alg, retired_at=None)
        .order_by(SigningKey.id.desc())
    )
    if row is None:
        raise LookupError(f"realm {realm.name} has no current {alg} key")
    key = _private_cache.get(row.kid)
    if key is None:
        key = _IMPORTERS[alg].import_key(json.loads(decrypt(row.private_jwk_encrypted)))
        _private_cache[row.kid] = key
    return key, row.kid


def sign_jwt(realm, claims: dict, *, alg: str, typ: str | None = None) -> str:
    key, kid = current_signing_key(realm, alg)
    header = {"alg": alg, "kid": kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, key, algorithms=[alg])


def verify_jwt(realm, settings, token: str, *, algorithms=SIGNING_ALGORITHMS):
    """Decode and check the signature of a token signed by one of the realm's published keys.
    Raises joserfc errors on failure; claims are validated by the caller."""
    return jwt.decode(token, public_key_set(realm, settings), algorithms=list(algorithms))
