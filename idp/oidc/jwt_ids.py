"""JWT ids seen once: a signed JWT that must be used only once (a client assertion, RFC 7523
§3 item 7) is refused when its ``jti`` comes again before it expires.

``claim_jwt_id`` records the id until the JWT's expiry: in Redis when ``redis.url`` is set
(``SET NX`` with that expiry, shared by every worker), otherwise in the ``used_jwt_ids`` table
of the provider's database (one atomic upsert). Rows are purged after they expire
(``idp purge``). Only JWTs whose signature was verified are recorded, and their lifetime is
bounded by the caller (``client_assertions.MAX_LIFETIME``), so what a client can make us keep
is bounded by what it may send, and an anonymous caller can make us keep nothing.

Ids are kept as keyed digests of (purpose, issuer, jti), so one client's ids never collide with
another's and no value a client chose is stored."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import UTCDateTime, utcnow
from ..security import keyed_digest

#: A longer ``jti`` is refused rather than stored (RFC 7519 sets no length; no client needs this).
MAX_JTI_LENGTH = 256


class UsedJwtId(db.Model):
    __tablename__ = "used_jwt_ids"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


def _redis():
    client = current_app.extensions.get("idp.jwt_ids.redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(current_app.extensions["idp.settings"].redis.url)
        current_app.extensions["idp.jwt_ids.redis"] = client
    return client


def claim_jwt_id(purpose: str, issuer: str, jti: str, expires_at: dt.datetime) -> bool:
    """True the first time ``jti`` of ``issuer`` is presented for ``purpose`` before
    ``expires_at``; False for a replay (or an unusable ``jti``)."""
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        return False
    digest = keyed_digest(f"{purpose}\x00{issuer}\x00{jti}")
    if current_app.extensions["idp.settings"].redis.url:
        milliseconds = int(expires_at.timestamp() * 1000)
        return bool(_redis().set(f"idp:jti:{digest}", 1, nx=True, pxat=max(milliseconds, 1)))
    from ..database import commit_keeping_loaded_state

    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = UsedJwtId.__table__
    now = utcnow()
    statement = insert(table).values(digest=digest, expires_at=expires_at).on_conflict_do_update(
        index_elements=[table.c.digest], set_={"expires_at": expires_at}, where=table.c.expires_at <= now,
    ).returning(table.c.id)
    claimed = db.session.execute(statement).scalar() is not None
    commit_keeping_loaded_state()
    return claimed


def purge_used_jwt_ids(settings, expired_before: dt.datetime) -> int:
    from ..services.purge import delete_in_batches

    return delete_in_batches(UsedJwtId.id, UsedJwtId.expires_at <= expired_before, UsedJwtId.expires_at)


def init_app(app) -> None:
    from ..services.purge import Purge, register_purge

    register_purge(app, Purge("used_jwt_ids", purge_used_jwt_ids))
