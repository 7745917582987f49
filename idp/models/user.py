from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .realm import Realm


def new_subject() -> str:
    return uuid.uuid4().hex


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("realm_id", "email", name="uq_users_realm_email"),
        # an index, not a constraint: SQLite adds one without rebuilding the table (a rebuild
        # would cascade the DROP of ``users`` into every table that refers to it)
        Index("uq_users_realm_email_normalized", "realm_id", "email_normalized", unique=True),
        Index("ix_users_realm_external_id", "realm_id", "external_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_subject)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    #: As typed (the domain lower-cased): what pages show and mails are sent to.
    email: Mapped[str] = mapped_column(String(320))
    #: ``services.users.email_key(email)``, set whenever ``email`` is: the only form accounts
    #: are looked up and compared by. NULL for an account the key migration found to collide
    #: with an older one (it cannot be found by email until it gets a new address).
    email_normalized: Mapped[str | None] = mapped_column(String(512), nullable=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)

    #: The provisioning client's own id for this user (SCIM ``externalId``, RFC 7643 §3.1).
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)

    mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False)

    failed_mfa_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mfa_locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Set when a visitor registered this address, until its owner verifies it
    #: (``idp.lifecycle.registration``).
    registration_pending_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    #: When the user was offered a factor after a login ("Create a passkey for faster sign-in",
    #: ``idp.mfa.views.offer``): it is offered once.
    factor_offer_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    realm: Mapped[Realm] = relationship()

    @property
    def registration_pending(self) -> bool:
        """Registered on the hosted page and the address not verified yet: the account cannot
        log in, and whoever verifies the address decides its password."""
        return self.registration_pending_since is not None and not self.email_verified

    def get_user_id(self) -> str:
        return self.id

    def __repr__(self) -> str:
        return f"<User {self.email}>"
