from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .user import User


def new_authenticator_id() -> str:
    """Random, so an id is never reused: a deleted credential's id can never name another."""
    return secrets.token_hex(12)


class Authenticator(db.Model):
    """Every credential a user holds, whatever its kind (allauth's Authenticator): an
    authenticator app, a phone, a recovery-code set, ... ``kind`` names the factor
    (``idp.mfa.registry``), which alone reads and writes ``data``. ``state`` is ``pending``
    until enrolment completes, then ``active``; a pending credential is never usable at login.

    ``revision`` grows with every change of ``data``: a factor that must change it atomically
    (a TOTP step used, a recovery code spent, a passkey's sign count) updates ``WHERE revision =
    the one it read`` (``idp.mfa.flows.update_data``), so two requests at the same moment
    cannot both succeed."""

    __tablename__ = "authenticators"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_authenticator_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.state == "active"


class OtpChallenge(db.Model):
    """A code sent out of band (text message, mail) for one binding (a login transaction or an
    account action) and one destination. Stored as a salted keyed digest; at most N wrong tries,
    then dead. A passkey ceremony's challenge is kept here too (``idp.mfa.webauthn.ceremonies``);
    a passkey sign-in has no user yet (``user_id`` NULL, bound to its login transaction)."""

    __tablename__ = "otp_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True,
                                                nullable=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    factor: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(320))
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
