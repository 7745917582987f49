"""The console role of an administrator: a user of the ``admin`` realm with one row here."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import User
from ..models.base import UTCDateTime, utcnow


class AdminRole(db.Model):
    """``owner`` (everything), ``operator`` (users and clients) or ``viewer`` (read-only).
    Deleting the user deletes the role."""

    __tablename__ = "admin_roles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<AdminRole {self.user_id} {self.role}>"
