from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .realm import Realm
from .user import User


class IdentityProvider(db.Model):
    """An upstream provider users may log in with (social or enterprise OpenID Connect)."""

    __tablename__ = "identity_providers"
    __table_args__ = (UniqueConstraint("realm_id", "name", name="uq_identity_providers_realm_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str | None] = mapped_column(String(500), nullable=True)
    client_id: Mapped[str] = mapped_column(String(500))
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    scope: Mapped[str] = mapped_column(String(500))
    mfa_mode: Mapped[str] = mapped_column(String(16), default="skip")
    #: In ``upstream`` mode, the upstream's ``amr`` / ``acr`` values (exact strings) that this
    #: realm accepts as a second factor done upstream. Any other value, or none, runs ours.
    upstream_mfa_amr: Mapped[list] = mapped_column(JSON, default=list)
    upstream_mfa_acr: Mapped[list] = mapped_column(JSON, default=list)
    #: Whether this upstream's ``email_verified: true`` proves the address (Keycloak's "Trust
    #: Email"). Off, every new upstream identity proves its address by a link we mail.
    trust_email: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    realm: Mapped[Realm] = relationship()


class FederatedIdentity(db.Model):
    """A link between an upstream account (provider, subject) and a local user.

    ``email_verified`` says whether the address was proven when the link was made (the
    upstream asserted ``email_verified``, or the person opened a link we mailed to it). Links
    made before that was recorded hold NULL. A password reset or an email verification removes
    every link that is not True (``idp.social.linking.remove_unproven_links``)."""

    __tablename__ = "federated_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject", name="uq_federated_identities_provider_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    email_verified: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    provider: Mapped[IdentityProvider] = relationship()
    user: Mapped[User] = relationship()
