from __future__ import annotations

import datetime as dt

from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list
from sqlalchemy import (JSON, Boolean, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint, bindparam, false,
                        select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..security import digests_equal, keyed_digest
from .base import UTCDateTime, utcnow
from .realm import Realm

SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access", "roles", "organizations")

#: How a confidential client may authenticate, by its registered ``token_endpoint_auth_method``
#: (RFC 7591 §2): a client registered for one of the secret methods may use either (as before
#: methods were registered); one registered for a JWT method only that method.
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
ACCEPTED_AUTH_METHODS = {
    "client_secret_basic": SECRET_AUTH_METHODS,
    "client_secret_post": SECRET_AUTH_METHODS,
    "client_secret_jwt": ("client_secret_jwt",),
    "private_key_jwt": ("private_key_jwt",),
    "none": ("none",),
}

#: Which clients are resource servers of which: a row lets the client ``resource_server_id``
#: introspect the tokens issued to ``served_client_id`` (RFC 7662 §2.1, §4). Both are
#: ``clients.id``, so deleting either client deletes the row, and a client registered later
#: under a deleted one's id inherits nothing.
client_resource_servers = Table(
    "client_resource_servers",
    db.metadata,
    Column("resource_server_id", ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("served_client_id", ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Client(db.Model, ClientMixin):
    """A relying application. Confidential clients authenticate with a secret kept only as a
    keyed digest; public clients (``public=True``) use PKCE instead."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("client_id", name="uq_clients_client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    client_secret_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    first_party: Mapped[bool] = mapped_column(Boolean, default=True)
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    grant_types: Mapped[list] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(String(500), default=" ".join(SUPPORTED_SCOPES))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), default="RS256")
    logo_uri: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: The app's home page (``client_uri``): the way back to it offered on our error and logout
    #: pages. Validated like a redirect URI when it is set.
    home_uri: Mapped[str | None] = mapped_column(String(500), nullable=True)
    theme: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: RFC 9126: this client must push its authorization requests (``idp.oidc.par``).
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(Boolean, default=False,
                                                                         server_default=false())
    #: Every login to this client is on behalf of one organization the user belongs to: without
    #: ``organization=`` on the request, the user picks one after logging in (``idp.organizations``).
    organization_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: RFC 7591 §2; None for clients registered before methods were: ``client_secret_basic``
    #: (or ``none`` for a public client). See ``token_endpoint_auth_method``.
    registered_auth_method: Mapped[str | None] = mapped_column("token_endpoint_auth_method", String(32),
                                                                nullable=True)
    #: The client's public keys (RFC 7591 §2), inline or by URL (``idp.oidc.client_keys``):
    #: for ``private_key_jwt`` and for signed request objects.
    jwks: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    jwks_uri: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    #: ``client_secret_jwt`` needs the secret itself to check an HMAC: such a client's secret is
    #: also kept encrypted (like TOTP seeds), besides its digest. No other client's is.
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: RFC 9101 §10.5: this client's authorization requests must come as signed request objects.
    require_signed_request_object: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: RFC 9449 §5.2: this client always uses DPoP; a token request without a proof is refused,
    #: so it never gets a bearer token (``idp.oidc.dpop``).
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Registered by the app itself at ``/register`` (RFC 7591), not by an operator.
    self_registered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: RFC 7592: the keyed digest of the registration access token that lets the app read,
    #: update and delete its own registration.
    registration_token_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Clients registered anonymously expire (and are purged) unless an operator keeps them.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    realm: Mapped[Realm] = relationship()
    #: The clients whose tokens this one may introspect, besides its own.
    resource_server_for: Mapped[list[Client]] = relationship(
        secondary=client_resource_servers,
        primaryjoin=lambda: Client.id == client_resource_servers.c.resource_server_id,
        secondaryjoin=lambda: Client.id == client_resource_servers.c.served_client_id,
        order_by=lambda: Client.client_id,
        passive_deletes=True,
        back_populates="resource_servers",
    )
    #: The clients that may introspect this one's tokens.
    resource_servers: Mapped[list[Client]] = relationship(
        secondary=client_resource_servers,
        primaryjoin=lambda: Client.id == client_resource_servers.c.served_client_id,
        secondaryjoin=lambda: Client.id == client_resource_servers.c.resource_server_id,
        order_by=lambda: Client.client_id,
        passive_deletes=True,
        back_populates="resource_server_for",
    )

    def may_introspect_tokens_of(self, client_id: str) -> bool:
        """Its own tokens, and those of the clients it is a resource server of: for another
        client, one indexed lookup by ids rather than loading the whole list (the client may be
        the lookup cache's detached copy in an express lane, which cannot load relationships)."""
        if client_id == self.client_id:
            return True
        return db.session.scalar(_SERVES_CLIENT, {"resource_server_id": self.id, "client_id": client_id}) is not None

    # -- Authlib ClientMixin -------------------------------------------------------------
    @property
    def client_metadata(self) -> dict:
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris or [])}

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        # OIDC requires redirect_uri on every request; only a single registered one is implied.
        uris = self.redirect_uris or []
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope):
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri):
        from ..redirect_uris import redirect_uri_registered

        return redirect_uri_registered(self.redirect_uris or [], redirect_uri, native=self.public)

    def check_client_secret(self, client_secret):
        if self.public or not self.client_secret_digest:
            return False
        return digests_equal(keyed_digest(client_secret), self.client_secret_digest)

    def check_endpoint_auth_method(self, method, endpoint):
        """Only the methods of the registered one (``ACCEPTED_AUTH_METHODS``), at every endpoint
        that authenticates clients: a client registered for private_key_jwt cannot use a secret."""
        return method in ACCEPTED_AUTH_METHODS.get(self.token_endpoint_auth_method, ())

    def check_response_type(self, response_type):
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type):
        if grant_type == "client_credentials" and self.public:
            return False
        return grant_type in (self.grant_types or [])

    @property
    def token_endpoint_auth_method(self) -> str:
        if self.public:
            return "none"
        return self.registered_auth_method or "client_secret_basic"

    def __repr__(self) -> str:
        return f"<Client {self.client_id}>"


#: ``Client.may_introspect_tokens_of``'s statement, built once: a row when the resource server
#: serves the client of that ``client_id``.
_SERVES_CLIENT = (
    select(client_resource_servers.c.served_client_id)
    .join(Client, Client.id == client_resource_servers.c.served_client_id)
    .where(client_resource_servers.c.resource_server_id == bindparam("resource_server_id"),
           Client.client_id == bindparam("client_id"))
)
