"""Authlib grants with our storage hooks filled in."""
from __future__ import annotations

import datetime as dt
import time
import warnings

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import g

from ..database import commit_keeping_loaded_state
from ..extensions import db
from ..models import AuthorizationCode, utcnow
from ..security import keyed_digest
from ..services.keys import current_signing_key
from . import tokens
from .issuer import realm_issuer

_CODE_LIFETIME_KEY = "authorization_code_lifetime"


def _settings():
    from flask import current_app

    return current_app.extensions["idp.settings"]


def user_claims(user, scope: str) -> dict:
    scopes = set((scope or "").split())
    claims = {"sub": user.id}
    if "profile" in scopes:
        claims["name"] = user.name or ""
        claims["preferred_username"] = user.email
    if "email" in scopes:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    return claims


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, request):
        login = g.login_result
        lifetime = getattr(_settings().tokens, _CODE_LIFETIME_KEY)
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
            session_sid=login["sid"],
            auth_time=login["auth_time"],
            amr=login["amr"],
            acr=login["acr"],
            issued_at=utcnow(),
            expires_at=utcnow() + dt.timedelta(seconds=lifetime),
        )
        db.session.add(row)
        commit_keeping_loaded_state()

    def query_authorization_code(self, code, client):
        """Claim the code atomically. A code presented twice revokes what it issued (RFC 6749
        §4.1.2); a code for another client or past its expiry is simply invalid."""
        row = db.session.scalar(
            db.select(AuthorizationCode).filter_by(realm_id=g.realm.id, code_digest=keyed_digest(code))
        )
        if row is None or row.client_id != client.get_client_id():
            return None
        claimed = db.session.execute(
            db.update(AuthorizationCode)
            .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=utcnow())
        ).rowcount
        if not claimed:
            tokens.revoke_tokens_of_code(g.realm, row)
            from ..services.audit import record_event

            record_event("oauth.code_replayed", realm=g.realm, user_id=row.user_id, client_id=row.client_id)
            db.session.commit()
            return None
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
        tokens.set_token_context(
            auth_time=authorization_code.auth_time,
            amr=authorization_code.get_amr(),
            acr=authorization_code.acr,
            sid=authorization_code.session_sid,
            authorization_code_id=authorization_code.id,
        )
        return user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Rotation with reuse detection (RFC 9700 §4.14.2)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        """The token's row, or None (``invalid_grant``) when it is unknown, revoked, expired or
        its user can no longer log in; a rotated-out token also revokes its family."""
        row = tokens.find_by_refresh_token(g.realm, refresh_token)
        if row is None or row.user is None or row.user.disabled:
            return None
        if row.refresh_used_at is not None or row.revoked_at is not None:
            if row.refresh_used_at is not None:
                self._revoke_reused(row)
            return None
        if row.refresh_expires_at is None or row.refresh_expires_at <= utcnow():
            return None
        return row

    def _revoke_reused(self, row):
        from ..services.audit import record_event

        tokens.revoke_family(g.realm, row.family_id)
        record_event("oauth.refresh_token_reused", realm=g.realm, user_id=row.user_id, client_id=row.client_id)
        db.session.commit()

    def _validate_request_token(self, client):
        row = super()._validate_request_token(client)
        if not tokens.claim_refresh_token(row):
            self._revoke_reused(row)
            raise InvalidGrantError("The refresh token has already been used.")
        return row

    def authenticate_user(self, refresh_token):
        user = refresh_token.user
        if user is None or user.disabled:
            return None
        tokens.set_token_context(
            auth_time=refresh_token.auth_time,
            amr=refresh_token.amr,
            acr=refresh_token.acr,
            sid=refresh_token.session_sid,
            family_id=refresh_token.family_id,
        )
        return user

    def revoke_old_credential(self, refresh_token):
        """Already marked used in _validate_request_token; its access token expires on its own."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """For confidential clients only. ``none`` is accepted as an authentication method so that a
    public client is identified and told ``unauthorized_client`` (``Client.check_grant_type``
    refuses it) instead of a misleading ``invalid_client``; a confidential client can never
    authenticate with ``none`` (``Client.check_endpoint_auth_method``)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


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


class IdpOpenIDCode(OpenIDCode):
    def exists_nonce(self, nonce, request):
        return (
            db.session.scalar(
                db.select(AuthorizationCode.id).filter_by(
                    realm_id=g.realm.id, client_id=request.payload.client_id, nonce=nonce
                )
            )
            is not None
        )

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

    def get_authorization_code_claims(self, authorization_code):
        claims = super().get_authorization_code_claims(authorization_code)
        if authorization_code.session_sid:
            claims["sid"] = authorization_code.session_sid
        return claims

    def generate_user_info(self, user, scope):
        return UserInfo(user_claims(user, scope))

    def encode_id_token(self, token, request):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="EdDSA is deprecated")
            return super().encode_id_token(token, request)
