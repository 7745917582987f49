"""Initial access tokens for Dynamic Client Registration (RFC 7591 §3): an operator hands one to
a developer (or a CI pipeline), who registers clients with it at ``/register``."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class InitialAccessToken(db.Model):
    """Kept as a keyed digest only; the plain token is shown once. It expires, and may be
    limited to a number of registrations (``max_uses``; None: until it expires)."""

    __tablename__ = "initial_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: What the operator noted about it ("CI of the billing team").
    note: Mapped[str] = mapped_column(String(200), default="")
    max_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    def is_usable(self) -> bool:
        return self.expires_at > utcnow() and (self.max_uses is None or self.uses < self.max_uses)
