"""The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from ..client_assertions import JWT_AUTH_METHODS
from ..dpop import SenderConstrainedGrant
from .base import GrantSpec, confidential_only


class ClientCredentialsGrant(SenderConstrainedGrant, grants.ClientCredentialsGrant):
    """For confidential clients only. ``none`` is accepted as an authentication method so that a
    public client is identified and told ``unauthorized_client`` (``Client.check_grant_type``
    refuses it) instead of a misleading ``invalid_client``; a confidential client can never
    authenticate with ``none`` (``Client.check_endpoint_auth_method``)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", *JWT_AUTH_METHODS]

    def generate_token(self, user=None, scope=None, **kwargs):
        """The requested scopes the client was registered for, and no others: Authlib's grant
        passes the request's ``scope`` as it came. As at the authorization endpoint, the others
        are dropped; the response's ``scope`` says what was granted (RFC 6749 §3.3, §5.1)."""
        return super().generate_token(user=user, scope=self.request.client.get_allowed_scope(scope), **kwargs)


grant = GrantSpec(
    ClientCredentialsGrant,
    description="The app calls APIs as itself, with no user (confidential clients only).",
    client_rule=confidential_only("client_credentials"),
)
