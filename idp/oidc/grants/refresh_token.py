"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2)."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from flask import g

from ...extensions import db
from ...services.organizations import membership_in
from ...models import utcnow
from .. import tokens
from ..authentication import AuthenticatedUser, AuthenticationContext
from ..client_assertions import JWT_AUTH_METHODS
from ..dpop import SenderConstrainedGrant, check_refresh_binding
from .base import GrantSpec


class RefreshTokenGrant(SenderConstrainedGrant, grants.RefreshTokenGrant):
    """Rotation with reuse detection (RFC 9700 §4.14.2)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", *JWT_AUTH_METHODS]
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
        if row.organization_id and membership_in(row.organization_id, row.user) is None:
            return None  # the login was for an organization the user has since left
        return row

    def _revoke_reused(self, row):
        from ...services.audit import record_event

        tokens.revoke_family(g.realm, row.family_id)
        record_event("oauth.refresh_token_reused", realm=g.realm, user_id=row.user_id, client_id=row.client_id)
        db.session.commit()

    def _validate_request_token(self, client):
        """A public client's token bound to a DPoP key needs a proof of that key; refused before
        the claim, so the token and its family stay the key holder's (``idp.oidc.dpop``)."""
        row = super()._validate_request_token(client)
        check_refresh_binding(row, client, self.request)
        if not tokens.claim_refresh_token(row):
            self._revoke_reused(row)
            raise InvalidGrantError("The refresh token has already been used.")
        return row

    def authenticate_user(self, refresh_token):
        user = refresh_token.user
        if user is None or user.disabled:
            return None
        return AuthenticatedUser(user, AuthenticationContext(
            auth_time=refresh_token.auth_time,
            amr=list(refresh_token.amr or []),
            acr=refresh_token.acr,
            sid=refresh_token.session_sid,
            family_id=refresh_token.family_id,
            organization_id=refresh_token.organization_id,
        ))

    def revoke_old_credential(self, refresh_token):
        """Already marked used in _validate_request_token; its access token expires on its own."""


#: The grants whose tokens a refresh token can follow.
USER_GRANTS = ("authorization_code", "urn:ietf:params:oauth:grant-type:device_code")


def _follows_a_user_grant(client) -> str | None:
    if not any(grant_type in (client.grant_types or []) for grant_type in USER_GRANTS):
        return "refresh_token goes with authorization_code or device_code (a grant that logs users in)"
    return None


grant = GrantSpec(
    RefreshTokenGrant,
    description="The app keeps users signed in with rotating refresh tokens (scope offline_access).",
    client_rule=_follows_a_user_grant,
)
