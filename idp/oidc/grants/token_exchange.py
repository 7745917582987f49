"""Token Exchange (RFC 8693) for delegation between the realm's own clients.

An API that received a user's access token (the *subject token*) and must call another API for
that user exchanges it at the token endpoint::

    POST /realms/acme/token
    Authorization: Basic <the API's client_id:client_secret>

    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    &subject_token=<the user's access token>
    &subject_token_type=urn:ietf:params:oauth:token-type:access_token
    &audience=<client_id of the API to call>          (optional, repeatable)
    &scope=openid email                                (optional: a subset of the subject token's)

and gets a new access token for the same user that says who acts for them: ``act`` names the
requesting client, or the party of the ``actor_token`` when one is sent, and nests the subject
token's own ``act`` when it already was a delegated token. Never impersonation: the issued
token always carries ``act``.

The rules: only a client holding this grant type may exchange (``unauthorized_client``); the
subject token must be an active access token of this realm issued for a user, to the requesting
client or to a client it is a resource server of (``invalid_request``, RFC 8693 §2.2.2); scope
and audience can only narrow (``invalid_scope``, ``invalid_target``); the new token lives no
longer than the subject token, joins its rotation family (revoking the user's grant revokes the
exchanged tokens too) and has no refresh token."""
from __future__ import annotations

import datetime as dt

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
)
from flask import g

from ...models import utcnow
from ..authentication import AuthenticatedUser, AuthenticationContext
from ..client_assertions import JWT_AUTH_METHODS
from ..dpop import SenderConstrainedGrant
from .base import GrantSpec, confidential_only

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
#: The token types accepted as ``subject_token_type``/``actor_token_type`` and issued.
TOKEN_TYPES_SUPPORTED = (ACCESS_TOKEN_TYPE,)
MAX_AUDIENCES = 10


class InvalidTargetError(OAuth2Error):
    """RFC 8693 §2.2.2: the audience or resource is unknown or not allowed."""

    error = "invalid_target"


class TokenExchangeGrant(SenderConstrainedGrant, grants.BaseGrant, grants.TokenEndpointMixin):
    GRANT_TYPE = GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", *JWT_AUTH_METHODS]

    def _single(self, name: str, required: bool = False) -> str | None:
        values = self.request.payload.datalist.get(name) or []
        if len(values) > 1:
            raise InvalidRequestError(f"'{name}' is repeated.")
        value = values[0] if values else None
        if required and not value:
            raise InvalidRequestError(f"Missing '{name}' parameter.")
        if value is not None and (not isinstance(value, str) or len(value) > 8192):
            raise InvalidRequestError(f"'{name}' is malformed.")
        return value

    def _token(self, prefix: str, required: bool):
        """The row of an active access token of this realm given as ``<prefix>_token``."""
        from ..server import active_access_token

        token = self._single(f"{prefix}_token", required=required)
        if token is None:
            if self._single(f"{prefix}_token_type"):
                raise InvalidRequestError(f"'{prefix}_token_type' was sent without '{prefix}_token'.")
            return None
        token_type = self._single(f"{prefix}_token_type", required=True)
        if token_type not in TOKEN_TYPES_SUPPORTED:
            raise InvalidRequestError(f"Unsupported '{prefix}_token_type': use {ACCESS_TOKEN_TYPE}.")
        row = active_access_token(g.realm, token)
        if row is None:
            raise InvalidRequestError(f"The {prefix} token is not an active access token of this realm.")
        return row

    def validate_token_request(self):
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(GRANT_TYPE):
            raise UnauthorizedClientError(f"This client may not use the grant '{GRANT_TYPE}'.")
        self.request.client = client
        requested = self._single("requested_token_type")
        if requested is not None and requested not in TOKEN_TYPES_SUPPORTED:
            raise InvalidRequestError(f"Unsupported 'requested_token_type': use {ACCESS_TOKEN_TYPE}.")
        if self.request.payload.datalist.get("resource"):
            raise InvalidTargetError("'resource' is not supported: name the target with 'audience' (a client id).")
        subject = self._token("subject", required=True)
        if subject.user is None or subject.user.disabled:
            raise InvalidRequestError("The subject token does not stand for an active user.")
        if not client.may_introspect_tokens_of(subject.client_id):
            raise InvalidRequestError("The subject token was not issued to this client or to a client it serves.")
        actor = self._token("actor", required=False)
        self.request.subject_row = subject
        self.request.actor_row = actor
        self.request.audience = self._audience(client)
        self.request.exchanged_scope = self._scope(client, subject)

    def _audience(self, client) -> list[str] | None:
        from ...services.clients import find_client

        audiences = [a for a in (self.request.payload.datalist.get("audience") or []) if a]
        if len(audiences) > MAX_AUDIENCES:
            raise InvalidTargetError(f"At most {MAX_AUDIENCES} audiences.")
        for audience in audiences:
            target = find_client(g.realm, audience) if isinstance(audience, str) and len(audience) <= 64 else None
            if target is None:
                raise InvalidTargetError(f"Unknown audience '{str(audience)[:64]}': name a client of this realm.")
            if target.client_id != client.client_id and not target.may_introspect_tokens_of(client.client_id):
                # The target API accepts tokens from this client only if it serves it (its
                # resource_server_for, as for introspection); otherwise any client holding the
                # grant could mint a user's token for every API of the realm.
                raise InvalidTargetError(f"The audience '{audience}' does not accept tokens from this client: "
                                         f"make it a resource server for '{client.client_id}'.")
        return list(dict.fromkeys(audiences)) or None

    def _scope(self, client, subject) -> str:
        held = set((subject.scope or "").split())
        scope = self._single("scope")
        if scope is None:
            return " ".join(s for s in (subject.scope or "").split() if s in set(client.scope.split()))
        wanted = scope.split()
        beyond = [s for s in wanted if s not in held or s not in set(client.scope.split())]
        if beyond:
            raise InvalidScopeError(f"The scope may only narrow the subject token's: '{beyond[0][:64]}' is not in it.")
        return " ".join(dict.fromkeys(wanted))

    def _act(self, client, subject, actor) -> dict:
        act = {"sub": actor.user_id or actor.client_id, "client_id": actor.client_id} if actor is not None \
            else {"sub": client.client_id, "client_id": client.client_id}
        if subject.act:
            act["act"] = subject.act
        return act

    def create_token_response(self):
        client = self.request.client
        subject, actor = self.request.subject_row, self.request.actor_row
        user = AuthenticatedUser(subject.user, AuthenticationContext(
            auth_time=subject.auth_time, amr=list(subject.amr or []), acr=subject.acr, sid=subject.session_sid,
            family_id=subject.family_id, act=self._act(client, subject, actor), audience=self.request.audience,
            organization_id=subject.organization_id))
        remaining = int((subject.access_expires_at - utcnow()) / dt.timedelta(seconds=1))
        from ..tokens import access_token_lifetime

        token = self.generate_token(user=user, scope=self.request.exchanged_scope,
                                    expires_in=max(1, min(remaining, access_token_lifetime(g.realm))),
                                    include_refresh_token=False)
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        self.request.user = user
        self.save_token(token)
        from ...services.audit import record_event

        record_event("oauth.token_exchanged", realm=g.realm, user_id=subject.user_id, client_id=client.client_id,
                     subject_client_id=subject.client_id, audience=self.request.audience or [])
        return 200, token, self.TOKEN_RESPONSE_HEADER


grant = GrantSpec(
    TokenExchangeGrant,
    description="An API exchanges a user's access token for one to call another API for them, with "
                "'act' naming it (RFC 8693; confidential clients only).",
    client_rule=confidential_only("token exchange"),
    metadata=lambda issuer: {"token_exchange_token_types_supported": list(TOKEN_TYPES_SUPPORTED)},
)
