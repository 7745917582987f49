from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .user import User


class Consent(db.Model):
    """The scopes a user allowed a third-party client to have. Once the requested scopes are
    all granted here, the consent page is skipped; asking for more widens the grant. Removing
    access (account page) deletes the row and revokes the client's tokens for the user."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id", name="uq_consents_user_client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
