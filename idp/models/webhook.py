from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .realm import Realm


def types_want(event_types: list | None, event_type: str) -> bool:
    """Whether a webhook subscribed to ``event_types`` (None: every type) gets ``event_type``."""
    if event_types is None:
        return True
    return any(event_type == wanted or (wanted.endswith(".*") and event_type.startswith(wanted[:-1]))
               for wanted in event_types)


class Webhook(db.Model):
    """A realm's subscription: events of ``event_types`` (None: every type; an entry may be
    ``family.*``) are POSTed to ``url``, signed with the secret (Fernet-encrypted here, since
    each delivery signs with it; shown once when created)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200), nullable=True)
    event_types: Mapped[list | None] = mapped_column(JSON, nullable=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    realm: Mapped[Realm] = relationship()
    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="webhook", cascade="all, delete-orphan", passive_deletes=True)

    def wants(self, event_type: str) -> bool:
        return types_want(self.event_types, event_type)

    def __repr__(self) -> str:
        return f"<Webhook {self.id} {self.url}>"


class WebhookDelivery(db.Model):
    """One message to one webhook, and where its delivery stands: the outbox row.

    Written in the transaction of the change that caused the event, so an event is never lost
    and never sent for a change that rolled back. ``message_id`` is the ``webhook-id`` header;
    a redelivery is a new row with the same message id and body, so a receiver that
    de-duplicates by it treats it as the same message. ``payload`` is the exact body signed.

    ``status``: ``pending`` (``next_attempt_at`` says when), ``succeeded`` or ``failed`` (gave up
    after the retry window). A worker leases a due row by setting ``claim_token`` and
    ``locked_until``; a worker that dies mid-delivery leaves a lease that simply runs out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    redelivery_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    webhook: Mapped[Webhook] = relationship(back_populates="deliveries")

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.message_id} {self.status}>"
