"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2)."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from flask import g

from ...database import commit_keeping_loaded_state
from ...extensions import db
from ...models import utcnow
from .. import tokens
from ..authentication import AuthenticatedUser, AuthenticationContext
from ..client_assertions import JWT_AUTH_METHODS
from ..dpop import SenderConstrainedGrant, check_refresh_binding
from .base import GrantSpec


class RefreshTokenGrant(SenderConstrainedGrant, grants.RefreshTokenGrant):
    """Rotation with reuse detection (RFC 9700 §4.14.2).

    A successful refresh costs two statements, both prebuilt Core statements run on the driver's
    cursor outside the session (``database.DirectStatement``): the columns of the token's
    row the grant judges and the new tokens carry are read, with whether its user is disabled
    and still a member of the login's organization (``tokens.presented_refresh_token``; outside
    any transaction on PostgreSQL: nothing is written yet), then the old token is spent and its
    replacement kept in one transaction (``tokens.rotate_refresh_token``), which re-checks
    everything the read found. Only when that claim finds nothing does the grant look at why
    (``_refused_rotation``, through the session, as rare as a reuse), and answer exactly as if
    the read had seen it."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", *JWT_AUTH_METHODS]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        """The token's row, or None (``invalid_grant``) when it is unknown, revoked, expired or
        its user can no longer log in; a rotated-out token also revokes its family."""
        row = tokens.presented_refresh_token(g.realm, refresh_token)
        if row is None or row.user.disabled:
            return None
        if row.refresh_used_at is not None or row.revoked_at is not None:
            if row.refresh_used_at is not None:
                self._revoke_reused(row)
            return None
        if row.refresh_expires_at is None or row.refresh_expires_at <= utcnow():
            return None
        if row.organization_id and not row.organization_member:
            return None  # the login was for an organization the user has since left
        return row

    def _revoke_reused(self, row):
        """Revoke the family and record the reuse, together (in a transaction of their own)."""
        from ...services.audit import record_event

        commit_keeping_loaded_state()
        tokens.revoke_family(g.realm, row.family_id)
        record_event("oauth.refresh_token_reused", realm=g.realm, user_id=row.user_id, client_id=row.client_id)
        db.session.commit()

    def _validate_request_token(self, client):
        """A public client's token bound to a DPoP key needs a proof of that key; refused before
        the claim, so the token and its family stay the key holder's (``idp.oidc.dpop``)."""
        row = super()._validate_request_token(client)
        check_refresh_binding(row, client, self.request)
        return row

    def authenticate_user(self, refresh_token):
        if refresh_token.user.disabled:
            return None
        return AuthenticatedUser(refresh_token.user, AuthenticationContext(
            auth_time=refresh_token.auth_time,
            amr=list(refresh_token.amr or []),
            acr=refresh_token.acr,
            sid=refresh_token.session_sid,
            family_id=refresh_token.family_id,
            organization_id=refresh_token.organization_id,
        ))

    def save_token(self, token):
        """Spend the old token and keep the new one at once; refused as the read would have
        refused it when something changed in between (``_refused_rotation``)."""
        if not tokens.rotate_refresh_token(self.request.refresh_token, token, self.request):
            self._refused_rotation()

    def _refused_rotation(self):
        """The claim found the token no longer spendable: read it again (in a transaction of
        its own) and answer as the first read would have. Spent meanwhile, by a request racing
        with the same token, is a reuse: the family is revoked."""
        commit_keeping_loaded_state()
        current = tokens.find_by_refresh_token(g.realm, self.request.form["refresh_token"], reload=True)
        if current is not None and current.refresh_used_at is not None:
            self._revoke_reused(current)
            raise InvalidGrantError("The refresh token has already been used.")
        raise InvalidGrantError()

    def revoke_old_credential(self, refresh_token):
        """Already spent by ``save_token``; its access token expires on its own."""


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
