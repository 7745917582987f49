from __future__ import annotations

import datetime as dt

from authlib.oidc.core import AuthorizationCodeMixin
from authlib.oauth2.rfc6749 import TokenMixin
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .user import User


class AuthorizationCode(db.Model, AuthorizationCodeMixin):
    """An issued code, kept (by digest) after use so that a replay can revoke what it issued."""

    __tablename__ = "authorization_codes"
    #: the nonce check of every authorization response (``IdpOpenIDCode.exists_nonce``); a hash
    #: index on PostgreSQL, where a nonce may be longer than a B-tree entry holds
    __table_args__ = (Index("ix_authorization_codes_nonce", "nonce", postgresql_using="hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(Text, nullable=True)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_challenge_method: Mapped[str | None] = mapped_column(String(8), nullable=True)
    session_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    auth_time: Mapped[int] = mapped_column(Integer)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    acr: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: The organization the login was for (``organization=`` or the picker), if any. No foreign
    #: key: a deleted organization simply stops appearing in the tokens' claims.
    organization_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: RFC 9449 §10: the thumbprint of the key the code's token request must prove.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), nullable=True)

    user: Mapped[User] = relationship()

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return self.acr

    def get_amr(self):
        return list(self.amr or [])


class TokenRules(TokenMixin):
    """What Authlib and idp ask of an issued token (active, expired, revoked, whose), answered
    from its columns: the same for the ORM row and for the row's columns read in one statement
    (``idp.oidc.tokens.TokenSnapshot``)."""

    def check_client(self, client):
        return self.client_id == client.get_client_id() and self.realm_id == client.realm_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return int((self.access_expires_at - self.issued_at).total_seconds())

    def is_expired(self):
        return self.access_expires_at <= utcnow()

    def is_revoked(self):
        return self.revoked_at is not None

    def is_refresh_token_active(self) -> bool:
        return (
            self.refresh_digest is not None
            and self.revoked_at is None
            and self.refresh_used_at is None
            and self.refresh_expires_at is not None
            and self.refresh_expires_at > utcnow()
        )

    def get_user(self):
        return self.user

    def get_client(self):
        from .client import Client

        return db.session.scalar(
            db.select(Client).filter_by(client_id=self.client_id, realm_id=self.realm_id)
        )


class IssuedToken(db.Model, TokenRules):
    """One token response: a JWT access token (known by ``jti``) and, optionally, a refresh token
    (kept as a keyed digest). Rotated refresh tokens share a ``family_id``; presenting a
    rotated-out refresh token again revokes the whole family (RFC 9700 §4.14.2)."""

    __tablename__ = "issued_tokens"
    #: A family's tokens and a code's tokens are revoked together (``tokens.revoke_family``,
    #: ``revoke_tokens_of_code``) by a statement that names the realm too: with single-column
    #: indexes, PostgreSQL's generic plan for it could pick the realm's index and go through every
    #: token of the realm (``tests/oidc/test_unique_key_lookups.py``). These match both columns.
    __table_args__ = (
        Index("ix_issued_tokens_family_id_realm_id", "family_id", "realm_id"),
        Index("ix_issued_tokens_authorization_code_id_realm_id", "authorization_code_id", "realm_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scope: Mapped[str] = mapped_column(Text, default="")
    access_jti: Mapped[str] = mapped_column(String(64), unique=True)
    access_expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    refresh_digest: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    refresh_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    refresh_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    family_id: Mapped[str] = mapped_column(String(64))
    authorization_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("authorization_codes.id", ondelete="SET NULL"), nullable=True
    )
    session_sid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    auth_time: Mapped[int | None] = mapped_column(Integer, nullable=True)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    acr: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: As on the authorization code the tokens came from.
    organization_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: RFC 9449: the thumbprint of the DPoP key the access token is bound to (its ``cnf.jkt``).
    #: A public client's refresh token is bound to it too (§5); a confidential client's is not,
    #: as its client authentication already constrains it.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: RFC 8693: the acting party of a token issued by token exchange (its ``act`` claim). None
    #: is stored as SQL NULL (``none_as_null``), not JSON ``null``: every other token has none,
    #: and introspection and userinfo read this column on each call (``tokens.read_access_token``),
    #: where decoding a JSON ``null`` cost more than the column's whole transfer.
    act: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    #: RFC 8693 ``audience``: the clients an exchanged token is for (else the issuer); None as SQL NULL.
    audience: Mapped[list | None] = mapped_column(JSON(none_as_null=True), nullable=True)

    user: Mapped[User | None] = relationship()
