from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .user import User


class Authenticator(db.Model):
    """A second factor a user holds: one row per TOTP device (allauth's Authenticator).
    ``state`` is ``pending`` until the first valid code arrives, then ``active``."""

    __tablename__ = "authenticators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    secret_encrypted: Mapped[str] = mapped_column(Text)
    last_used_step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """One single-use recovery code, kept as a keyed digest; ``used_at`` is claimed atomically."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OtpChallenge(db.Model):
    """A code sent by SMS. Stored as a salted keyed digest; at most N wrong tries, then dead."""

    __tablename__ = "otp_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(32))
    salt: Mapped[str] = mapped_column(String(32))
    code_digest: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SmsMessage(db.Model):
    """A log of every SMS sent (no body): the source of the per-account/per-IP caps and the
    dashboard's SMS-per-day figure."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    phone: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(4), nullable=True)
    integration_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="sent")
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SmsIntegration(db.Model):
    """An SMS sending backend of a realm; the first active one (by position) sends."""

    __tablename__ = "sms_integrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
