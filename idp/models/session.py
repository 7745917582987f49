from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .realm import Realm
from .user import User


class BrowserSession(db.Model):
    """A logged-in browser. The cookie holds a random value; only its keyed digest is stored.
    ``sid`` is the public session id put in ID tokens."""

    __tablename__ = "browser_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cookie_digest: Mapped[str] = mapped_column(String(64), unique=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[int] = mapped_column(Integer)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    acr: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: When our own second factor was last verified in this session (epoch seconds): the
    #: account page's changes to factors need it recent (``mfa.step_up_window``).
    mfa_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Account-page work in progress (a phone being verified, a pending authenticator, recovery
    #: codes to show once, encrypted): bound to this session, so it ends with it.
    pending: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(400), nullable=True)

    user: Mapped[User] = relationship()

    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow()


class LoginTransaction(db.Model):
    """One login in progress: which authorization request it serves, whose it is, which stages
    are done. Persisted so that any worker can resume it; bound to the browser that began it
    by a cookie whose digest is ``browser_binding``."""

    __tablename__ = "login_transactions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    authorization_request: Mapped[dict] = mapped_column(JSON)
    browser_binding: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    form_variant: Mapped[str] = mapped_column(String(16), default="login")
    completed_stages: Mapped[list] = mapped_column(JSON, default=list)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    stage_state: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    auth_time: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User | None] = relationship()
    realm: Mapped["Realm"] = relationship()

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()
