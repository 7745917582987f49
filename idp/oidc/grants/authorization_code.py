"""The authorization code grant (RFC 6749 §4.1) with PKCE (S256 only, required for public
clients) and OpenID Connect (the ID token from ``IdpOpenIDCode``)."""
from __future__ import annotations

import datetime as dt
import functools
import secrets
import time
import warnings

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode, OpenIDToken
from flask import g
from sqlalchemy.orm import joinedload

from ...database import (
    DirectStatement,
    commit_keeping_loaded_state,
    persistent_with_user,
    session_has_written_nothing,
    with_user_statement,
)
from ...extensions import db
from ...models import AuthorizationCode, utcnow
from ...security import keyed_digest
from ...services.keys import current_signing_key
from .. import tokens
from ..authentication import AuthenticatedUser, AuthenticationContext, authentication_of
from ..authorization_parameters import AuthorizationRequestRules
from ..claims import user_claims
from ..client_assertions import JWT_AUTH_METHODS
from ..dpop import SenderConstrainedGrant, check_code_binding
from ..issuer import realm_issuer
from .base import GrantSpec, settings

_CODE_LIFETIME_KEY = "authorization_code_lifetime"


#: A code's row by its digest, with its user (``authenticate_user`` reads it: one query); its
#: realm is checked on the row (``tokens.in_realm``).
CODE_BY_DIGEST = (db.select(AuthorizationCode).where(AuthorizationCode.code_digest == db.bindparam("digest"))
                  .options(joinedload(AuthorizationCode.user)))


@functools.cache
def _code_with_user_statement() -> DirectStatement:
    return with_user_statement(AuthorizationCode, lambda codes: codes.c.code_digest == db.bindparam("digest"))


def _code_with_user(digest: str) -> AuthorizationCode | None:
    """The code (with its user) by its digest, in the request's session: read as a
    ``DirectStatement`` (the token request's first read; a fraction of the ORM query's CPU)
    unless the session has written something (``session_has_written_nothing``)."""
    session = db.session()
    if not session_has_written_nothing(session):
        return db.session.scalar(CODE_BY_DIGEST, {"digest": digest})
    found = _code_with_user_statement().first(db.engine, {"digest": digest})
    if found is None:
        return None
    return persistent_with_user(session, AuthorizationCode, found)


#: Whether a code was issued with this nonce (``exists_nonce``): read at every authorization
#: request with a nonce and again when its code is issued, a row committed before either.
CODE_WITH_NONCE = DirectStatement(
    db.select(AuthorizationCode.id).where(AuthorizationCode.realm_id == db.bindparam("realm_id"),
                                          AuthorizationCode.client_id == db.bindparam("client_id"),
                                          AuthorizationCode.nonce == db.bindparam("nonce")))


class AuthorizationCodeGrant(SenderConstrainedGrant, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", *JWT_AUTH_METHODS]

    def generate_authorization_code(self):
        """48 URL-safe characters (288 random bits) from ``secrets``: 2 us. Authlib's default
        draws its 48 from 62 one ``SystemRandom.choice`` at a time: 55 us."""
        return secrets.token_urlsafe(36)

    def save_authorization_code(self, code, request):
        login = authentication_of(request.user)
        lifetime = getattr(settings().tokens, _CODE_LIFETIME_KEY)
        row = AuthorizationCode(
            realm_id=g.realm.id,
            code_digest=keyed_digest(code),
            client_id=request.client.get_client_id(),
            user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
            scope=request.scope or "",
            nonce=request.payload.data.get("nonce"),
            code_challenge=request.payload.data.get("code_challenge"),
            code_challenge_method=request.payload.data.get("code_challenge_method"),
            dpop_jkt=request.payload.data.get("dpop_jkt"),
            session_sid=login.sid,
            auth_time=login.auth_time,
            amr=list(login.amr),
            acr=login.acr,
            organization_id=login.organization_id,
            issued_at=utcnow(),
            expires_at=utcnow() + dt.timedelta(seconds=lifetime),
        )
        db.session.add(row)
        commit_keeping_loaded_state()

    def query_authorization_code(self, code, client):
        """Claim the code atomically. A code presented twice revokes what it issued (RFC 6749
        §4.1.2); a code for another client or past its expiry is simply invalid. A code bound
        to a DPoP key (``dpop_jkt``, RFC 9449 §10) is refused, unspent, without a proof of it."""
        row = tokens.in_realm(g.realm, _code_with_user(keyed_digest(code)))
        if row is None or row.client_id != client.get_client_id():
            return None
        check_code_binding(row.dpop_jkt, self.request)
        claimed = db.session.execute(
            db.update(AuthorizationCode)
            .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=utcnow())
        ).rowcount
        if not claimed:
            tokens.revoke_tokens_of_code(g.realm, row)
            from ...services.audit import record_event

            record_event("oauth.code_replayed", realm=g.realm, user_id=row.user_id, client_id=row.client_id)
            db.session.commit()
            return None
        # Set before the commit, as a refresh's rotation does: a failure once the claim may have
        # committed must not be started over as a replay (``idp.oidc.express``).
        g.grant_spent = True
        commit_keeping_loaded_state()
        if row.expires_at <= utcnow():
            return None
        return row

    def delete_authorization_code(self, authorization_code):
        """Nothing to do: the code was claimed in query_authorization_code and is kept for
        replay detection."""

    def authenticate_user(self, authorization_code):
        user = authorization_code.user
        if user is None or user.disabled:
            return None
        return AuthenticatedUser(user, AuthenticationContext(
            auth_time=authorization_code.auth_time,
            amr=authorization_code.get_amr(),
            acr=authorization_code.acr,
            sid=authorization_code.session_sid,
            authorization_code_id=authorization_code.id,
            organization_id=authorization_code.organization_id,
        ))


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only (RFC 9700 §2.1.1); required at the authorization request for public
    clients, honoured for confidential ones."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        request = grant.request
        challenge = request.payload.data.get("code_challenge")
        method = request.payload.data.get("code_challenge_method")
        if request.client is not None and request.client.public and not challenge:
            raise InvalidRequestError("Public clients must use PKCE: 'code_challenge' is required.")
        if challenge and method != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        return super().validate_code_challenge(grant, redirect_uri)


class IdpOpenIDToken(OpenIDToken):
    """The ID token of any grant that logs a user in (the code grant, the device grant): signed
    with the realm's key for the client's algorithm, with the user's claims for the scope and,
    where no code row carries them, how the user authenticated from the grant's user
    (``AuthenticationContext``).

    Registered with a grant: ``register_grant(DeviceCodeGrant, [IdpOpenIDToken()])``."""

    def resolve_client_private_key(self, client):
        key, _kid = current_signing_key(g.realm, self.get_client_algorithm(client))
        return key

    def get_client_algorithm(self, client):
        return client.id_token_signed_response_alg or "RS256"

    def get_encode_header(self, client):
        alg = self.get_client_algorithm(client)
        _key, kid = current_signing_key(g.realm, alg)
        return {"alg": alg, "kid": kid, "typ": "JWT"}

    def get_client_claims(self, client):
        now = int(time.time())
        return {
            "iss": realm_issuer(g.realm),
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + tokens.id_token_lifetime(g.realm),
        }

    def get_compatible_claims(self, request):
        claims = super().get_compatible_claims(request)
        if getattr(request, "authorization_code", None) is None:
            login = authentication_of(request.user)
            for name in ("auth_time", "acr", "amr", "sid"):
                if getattr(login, name):
                    claims[name] = getattr(login, name)
        return claims

    def generate_user_info(self, user, scope):
        return UserInfo(user_claims(getattr(user, "user", user), scope,
                                    organization_id=authentication_of(user).organization_id))

    def encode_id_token(self, token, request):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="EdDSA is deprecated")
            return super().encode_id_token(token, request)


class IdpOpenIDCode(IdpOpenIDToken, OpenIDCode):
    def exists_nonce(self, nonce, request):
        return CODE_WITH_NONCE.first(db.engine, {"realm_id": g.realm.id, "client_id": request.payload.client_id,
                                                 "nonce": nonce}) is not None

    def get_authorization_code_claims(self, authorization_code):
        claims = super().get_authorization_code_claims(authorization_code)
        if authorization_code.session_sid:
            claims["sid"] = authorization_code.session_sid
        return claims


def _uses_redirect_uris(client) -> str | None:
    if not client.redirect_uris:
        return "authorization_code needs at least one redirect URI"
    return None


grant = GrantSpec(
    AuthorizationCodeGrant,
    description="Users log in through the browser and the app receives a code (with PKCE).",
    client_rule=_uses_redirect_uris,
    extensions=lambda: [AuthorizationRequestRules(), IdpOpenIDCode(require_nonce=False),
                        S256CodeChallenge(required=True)],
)
