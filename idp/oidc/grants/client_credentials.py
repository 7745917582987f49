"""The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself."""
from __future__ import annotations

from typing import NamedTuple

from authlib.integrations.flask_oauth2.signals import client_authenticated
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants

from ..client_assertions import JWT_AUTH_METHODS
from ..dpop import SenderConstrainedGrant
from ..plain_requests import SecretCredentials, authenticated_client, secret_credentials
from .base import GrantSpec, confidential_only

#: The fields of a plain request (``ClientCredentialsGrant.answer_plain_request``), besides the
#: form credentials of ``client_secret_post``.
PLAIN_FIELDS = frozenset({"grant_type", "scope"})


class PlainGrant(NamedTuple):
    """``answer_plain_request``'s answer: what Authlib's ``handle_response`` takes, and the
    client it was granted to."""

    status: int
    token: dict
    headers: list
    client: object


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

    @classmethod
    def answer_plain_request(cls, server, request) -> PlainGrant | None:
        """The grant's answer to a plain request it grants, as a ``PlainGrant``; None
        for every other request, which then goes through Authlib (errors included).

        The token endpoint's express lane (``idp.oidc.express.token``) asks this first: a
        machine client's token request is the endpoint's most frequent, and Authlib's dispatch
        around the grant (the request object, the grant lookup, the chain of authentication
        methods, hooks and signals) cost about a fifth of it. The checks are the ones that
        grant it there, each made by the same method: the client as ``server.query_client``
        finds it, its secret (``check_client_secret``), the method it was registered for
        (``check_endpoint_auth_method``), the grant type (``check_grant_type``), no DPoP
        requirement (a bound client always needs a proof, ``dpop.check_client_requirement``),
        the scope as the server validates it and narrowed as ``generate_token`` narrows it.
        Anything else answers None: a request with any other field, credentials both in a
        ``Basic`` header and in the form (Authlib's order of methods decides those), a DPoP
        proof, an insecure transport, or any check that fails. The token is Authlib's own
        ``server.generate_token``; a client_credentials token is kept in no row
        (``tokens.save_token``). ``tests/oidc/test_express_lanes.py`` compares the answers with
        Flask's, request by request.

        The grant must be the server's client_credentials grant as registered, with nothing
        Authlib would run around it (``registered_plainly``); else every request is
        Authlib's."""
        credentials = cls.plain_credentials(request)
        if credentials is None or not cls.registered_plainly(server):
            return None
        client = authenticated_client(server, credentials, "token")
        if (
            client is None
            or not client.check_grant_type(cls.GRANT_TYPE)
            or getattr(client, "dpop_bound_access_tokens", False)
        ):
            return None
        scope = request.form.get("scope")
        try:
            server.validate_requested_scope(scope)
        except OAuth2Error:
            return None
        token = server.generate_token(grant_type=cls.GRANT_TYPE, client=client, scope=client.get_allowed_scope(scope),
                                      include_refresh_token=False)
        return PlainGrant(200, token, cls.TOKEN_RESPONSE_HEADER, client)

    @classmethod
    def plain_credentials(cls, request) -> SecretCredentials | None:
        """The client's credentials of a plain client_credentials request (one
        ``answer_plain_request`` may answer: ``idp.oidc.plain_requests``), else None."""
        if request.form.get("grant_type") != cls.GRANT_TYPE:
            return None
        return secret_credentials(request, PLAIN_FIELDS)

    @classmethod
    def registered_plainly(cls, server) -> bool:
        """Whether ``server`` answers client_credentials with this grant and nothing around its
        checks and ``generate_token``: the first grant registered for the type is this class,
        with no extension (extensions add hooks to the grant), and no one receives Authlib's
        ``client_authenticated`` signal. Should a hook or a receiver be added, Authlib answers
        again, and ``answer_plain_request`` never skips it."""
        for grant_class, extensions in server._token_grants:
            if grant_class.GRANT_TYPE == cls.GRANT_TYPE:
                return grant_class is cls and not extensions and not client_authenticated.receivers
        return False


grant = GrantSpec(
    ClientCredentialsGrant,
    description="The app calls APIs as itself, with no user (confidential clients only).",
    client_rule=confidential_only("client_credentials"),
)
