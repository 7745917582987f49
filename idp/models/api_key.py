from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .realm import Realm


class ApiKey(db.Model):
    """A key for the management API. Only a keyed digest of the secret is kept; the ``prefix``
    (the first characters of the secret) lets an operator tell keys apart. A key belongs to
    one realm, or to none: a server-level key works in every realm. ``scopes`` say what it may
    do there (``services.api_keys.SCOPES``); past ``expires_at`` it is refused. A revoked key
    keeps its row (and its name) for the audit trail."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int | None] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True,
                                                 nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    realm: Mapped[Realm | None] = relationship()

    @property
    def server_level(self) -> bool:
        return self.realm_id is None

    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired()

    def __repr__(self) -> str:
        return f"<ApiKey {self.name} {self.prefix}…>"
