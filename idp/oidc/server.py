"""The Authlib authorization server, made realm-aware through ``g.realm``."""
from __future__ import annotations

from dataclasses import dataclass, fields

from authlib.consts import default_json_headers
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import InvalidRequestError, UnsupportedResponseTypeError
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.authenticate_client import (
    authenticate_client_secret_basic as authlib_client_secret_basic,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.rpinitiated import EndSessionEndpoint
from authlib.oidc.rpinitiated.end_session import EndSessionRequest
from flask import current_app, g
from flask import request as flask_request
from werkzeug.local import LocalProxy

from ..extensions import db
from ..models import IssuedToken, utcnow
from ..services.clients import find_client
from ..services.keys import jwks_document
from . import client_assertions, dpop, tokens
from .authorization_parameters import AuthorizationParameterSyntax
from .claims import authorization_claims
from .client_assertions import JWT_AUTH_METHODS
from .express.answer import ExpressAnswer
from .grants import register_grants
from .issuer import realm_issuer
from .plain_requests import authenticated_client, secret_credentials


class RealmAuthorizationServer(AuthorizationServer):
    def query_client(self, client_id):
        """An anonymously registered client past its lifetime is gone, whenever the purge comes."""
        client = find_client(g.realm, client_id)
        if client is not None and client.expires_at is not None and client.expires_at <= utcnow():
            return None
        return client

    def save_token(self, token, request):
        return tokens.save_token(token, request)

    def create_oauth2_request(self, request):
        """A request built in memory (a stored authorization request, a token request with its
        DPoP proof attached) is used as it is; else the Flask request."""
        return request if isinstance(request, OAuth2Request) else FlaskOAuth2Request(flask_request)

    def generate_token(self, grant_type, client, user=None, scope=None, expires_in=None,
                       include_refresh_token=True, dpop_jkt=None):
        """Authlib's, plus the DPoP key the tokens are bound to (``dpop.SenderConstrainedGrant``)."""
        return tokens.generate_token(grant_type=grant_type, client=client, user=user, scope=scope,
                                     expires_in=expires_in, include_refresh_token=include_refresh_token,
                                     dpop_jkt=dpop_jkt)

    def handle_response(self, status_code, payload, headers):
        """Flask's response; in an express lane the plain answer it serves itself."""
        if g.get("express_request") is not None:
            return ExpressAnswer.json(status_code, payload, headers)
        return super().handle_response(status_code, payload, headers)

    def answer_plain_endpoint_request(self, name: str, request):
        """The answer of the endpoint registered first under ``name`` (the one Authlib's
        ``create_endpoint_response`` asks) to a plain request it answers itself
        (``answer_plain_request``, e.g. ``RealmIntrospectionEndpoint``'s), else None."""
        endpoints = self._endpoints.get(name)
        answer_plain_request = getattr(endpoints[0], "answer_plain_request", None) if endpoints else None
        answered = answer_plain_request(request) if answer_plain_request is not None else None
        return None if answered is None else self.handle_response(*answered)

    def create_token_response(self, request=None):
        """The token endpoint. A ``DPoP`` proof, when the request has one, is checked first
        (RFC 9449 §5) and attached to the request for the grants (``dpop.proof_of``); a
        request without one pays a header lookup."""
        request = self.create_oauth2_request(request)
        if not dpop.proof_headers(request.headers):
            return super().create_token_response(request)
        try:
            request.dpop_proof = dpop.token_request_proof(g.realm, request, f"{realm_issuer(g.realm)}/token",
                                                            remember=False)
        except OAuth2Error as error:
            response = self.handle_error_response(request, error)
        else:
            response = super().create_token_response(request)
        response.headers.update(dpop.response_headers(g.realm))
        return response

    def get_authorization_grant(self, request):
        """Authlib answers a request without ``response_type`` as an unsupported one; it is a
        missing required parameter, ``invalid_request`` (RFC 6749 §4.1.2.1), sent to the same
        place: the client's redirect URI once that is validated, else the error page."""
        try:
            return super().get_authorization_grant(request)
        except UnsupportedResponseTypeError as error:
            if request.payload.response_type:
                raise
            raise InvalidRequestError("Missing 'response_type' parameter.", redirect_uri=error.redirect_uri,
                                      state=request.payload.state) from None

    def authorization_request_from(self, uri: str, params: dict) -> OAuth2Request:
        """Rebuild a stored authorization request so a login finished later (on any worker)
        is answered exactly as the original request would have been."""
        request = OAuth2Request("GET", uri, headers={})
        request.payload = BasicOAuth2Payload(params)
        return request


def _token_kind(token_string, token_type_hint) -> str:
    """Refresh tokens are opaque ``rt_...`` strings and access tokens JWTs, so the string itself
    says what it is, and the hint is not needed. A wrong hint must not hide the token: a server
    that cannot find it by the hint "MUST extend its search across all of its supported token
    types" (RFC 7009 §2.1, RFC 7662 §2.1)."""
    return "refresh_token" if token_string.startswith("rt_") else "access_token"


def _find_token(token_string, token_type_hint):
    if _token_kind(token_string, token_type_hint) == "refresh_token":
        return tokens.find_by_refresh_token(g.realm, token_string)
    return tokens.find_by_access_token(g.realm, token_string)


def _read_token(token_string, token_type_hint):
    """As ``_find_token``, for reading only: one statement outside the session
    (``tokens.read_access_token``)."""
    if _token_kind(token_string, token_type_hint) == "refresh_token":
        return tokens.read_refresh_token(g.realm, token_string)
    return tokens.read_access_token(g.realm, token_string)


@dataclass(frozen=True)
class IntrospectedToken:
    """A token (its row, or the row's columns as read: ``tokens.TokenSnapshot``) and which of
    its two tokens (access or refresh) was presented."""

    row: IssuedToken | tokens.TokenSnapshot
    kind: str


def _check_token_parameter(request) -> None:
    """Revocation's and introspection's parameters: a ``token``. Its ``token_type_hint``,
    whatever it says, is ignored, as both RFCs let a server that tells the type from the token
    do (``_token_kind``; RFC 7009 §2.1, RFC 7662 §2.1). Authlib refused a hint of a type it did
    not list with ``unsupported_token_type``, which RFC 7009 keeps for a token of a type the
    server cannot revoke (§2.2.1), and with a 401."""
    if "token" not in request.form:
        raise InvalidRequestError()


class RealmRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", *JWT_AUTH_METHODS]

    def check_params(self, request, client):
        _check_token_parameter(request)

    def query_token(self, token_string, token_type_hint):
        return _find_token(token_string, token_type_hint)

    def revoke_token(self, token, request):
        """Revoking either token of a grant revokes the whole rotation family."""
        from ..services.audit import record_event

        if token.id is None:
            tokens.revoke_client_credentials_token(token)
        else:
            tokens.revoke_family(g.realm, token.family_id)
        record_event("oauth.tokens_revoked", realm=g.realm, user_id=token.user_id, client_id=token.client_id)
        db.session.commit()


class RealmIntrospectionEndpoint(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", *JWT_AUTH_METHODS]
    #: The fields of a plain request (``answer_plain_request``), besides the form credentials.
    PLAIN_FIELDS = frozenset({"token", "token_type_hint"})

    def answer_plain_request(self, request) -> tuple[int, dict, list] | None:
        """The endpoint's answer to a plain request (``idp.oidc.plain_requests``) from a
        client that authenticates, as Authlib's dispatch would give it; None for every other
        request, which Authlib then answers (errors included).

        The introspection lane (``idp.oidc.express.introspection``) asks this first: a resource
        server asks about every token it is shown, and Authlib's dispatch (its request object,
        the chain of authentication methods) cost about a twelfth of the request. The steps are
        Authlib's ``create_endpoint_response``, each by the same method: the client
        (``plain_requests.authenticated_client``, as ``ClientAuthentication`` decides it), the
        parameters (a ``token``, as ``check_params``), the token
        (``query_token``), whether this client may know of it (``check_permission``) and the
        payload (``create_introspection_payload``). A resource server's DPoP proof goes to
        Authlib (``authenticate_endpoint_client`` checks it)."""
        credentials = secret_credentials(request, self.PLAIN_FIELDS)
        token_string = request.form.get("token")
        if credentials is None or not token_string:
            return None
        client = authenticated_client(self.server, credentials, self.ENDPOINT_NAME)
        if client is None:
            return None
        token = self.query_token(token_string, request.form.get("token_type_hint"))
        if token is not None and not self.check_permission(token, client, request):
            token = None
        return 200, self.create_introspection_payload(token), default_json_headers

    def check_params(self, request, client):
        _check_token_parameter(request)

    def query_token(self, token_string, token_type_hint):
        row = _read_token(token_string, token_type_hint)
        if row is None:
            return None
        kind = "refresh_token" if token_string.startswith("rt_") else "access_token"
        return IntrospectedToken(row, kind)

    def authenticate_endpoint_client(self, request):
        """The resource server's own DPoP proof, when it sends one, is checked like at the token
        endpoint (RFC 9449 §4.3 with this endpoint's URL)."""
        client = super().authenticate_endpoint_client(request)
        dpop.token_request_proof(g.realm, request, f"{realm_issuer(g.realm)}/introspect")
        return client

    def check_permission(self, token, client, request):
        """The token's own client and the clients marked as its resource servers; any other
        client learns nothing, not even that the token exists: ``{"active": false}``
        (RFC 7662 §2.2, §4)."""
        return token.row.realm_id == client.realm_id and client.may_introspect_tokens_of(token.row.client_id)

    def create_introspection_payload(self, introspected):
        if introspected is None:
            return {"active": False}
        token, kind = introspected.row, introspected.kind
        if token.is_revoked() or (token.user is not None and token.user.disabled):
            return {"active": False}
        if kind == "refresh_token":
            if not token.is_refresh_token_active():
                return {"active": False}
            exp = token.refresh_expires_at
        else:
            if token.is_expired():
                return {"active": False}
            exp = token.access_expires_at
        issuer = realm_issuer(g.realm)
        payload = {
            "active": True,
            "client_id": token.client_id,
            "token_type": "refresh_token" if kind == "refresh_token" else ("DPoP" if token.dpop_jkt else "Bearer"),
            "scope": token.scope,
            "sub": token.user_id or token.client_id,
            "iss": issuer,
            "exp": int(exp.timestamp()),
            "iat": int(token.issued_at.timestamp()),
        }
        if token.user is not None and "email" in (token.scope or "").split():
            payload["username"] = token.user.email  # the email only where the user let the app have it
        if token.user is not None:
            payload.update(authorization_claims(token.user, token.scope, organization_id=token.organization_id))
        if token.dpop_jkt and (kind == "access_token" or dpop.refresh_token_is_bound(token)):
            payload["cnf"] = {"jkt": token.dpop_jkt}  # RFC 9449 §6.2
        if kind == "access_token":
            payload["jti"] = token.access_jti
            audience = list(token.audience or [])
            payload["aud"] = (audience[0] if len(audience) == 1 else audience) if audience else issuer
            if token.act:
                payload["act"] = token.act
        return payload


@dataclass
class RealmEndSessionRequest(EndSessionRequest):
    """An end-session request that also knows whether its ``id_token_hint`` names the session
    this browser is in."""

    hint_matches_session: bool = True

    @property
    def needs_confirmation(self) -> bool:
        """Authlib asks only when there is no valid hint. A valid hint of another user or of
        an earlier session says nothing about who is at this browser now, so logging out on
        it alone would let any app (or a link carrying an old ID token) end the current user's
        session: ask then too."""
        return super().needs_confirmation or not self.hint_matches_session


class RealmEndSessionEndpoint(EndSessionEndpoint):
    def validate_request(self, request) -> RealmEndSessionRequest:
        validated = super().validate_request(request)
        return RealmEndSessionRequest(
            **{field.name: getattr(validated, field.name) for field in fields(validated)},
            hint_matches_session=self.hint_matches_session(validated.id_token_claims),
        )

    @staticmethod
    def hint_matches_session(id_token_claims) -> bool:
        """Whether the hint was issued in this browser's current session: same ``sub`` and
        ``sid``. With no session there is nothing to end, and nothing to ask."""
        from ..login.sessions import current_browser_session

        session = current_browser_session(g.realm)
        if session is None or id_token_claims is None:
            return True
        return id_token_claims.get("sub") == session.user_id and id_token_claims.get("sid") == session.sid

    def get_server_jwks(self):
        return jwks_document(g.realm, current_app.extensions["idp.settings"])

    def get_algorithms(self):
        from ..services.keys import ID_TOKEN_ALGORITHMS

        return list(ID_TOKEN_ALGORITHMS)

    def _validate_id_token_hint(self, id_token_hint):
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="EdDSA is deprecated")
            claims = super()._validate_id_token_hint(id_token_hint)
        from authlib.oauth2.rfc6749.errors import InvalidRequestError

        if claims.get("iss") != realm_issuer(g.realm):
            raise InvalidRequestError("'id_token_hint' was not issued by this realm")
        return claims

    def is_post_logout_redirect_uri_legitimate(self, request, post_logout_redirect_uri, client, logout_hint):
        """Without an ``id_token_hint`` the registered URI is followed only when this browser has
        no session: nothing is ended, so the request forces nothing on anyone, and the user goes
        straight back to the app that asked (RP-Initiated Logout §3, "other means of confirming
        the legitimacy"). With a session, a confirmed logout still ends on our page."""
        from ..login.sessions import current_browser_session

        return current_browser_session(g.realm) is None

    def resolve_client_from_id_token_claims(self, id_token_claims):
        aud = id_token_claims.get("aud")
        if isinstance(aud, list) and len(aud) == 1:
            aud = aud[0]
        return self.server.query_client(aud) if isinstance(aud, str) else None

    def end_session(self, end_session_request):
        from ..login.sessions import end_browser_session

        end_browser_session(g.realm)


class RealmIssuerParameter(IssuerParameter):
    def get_issuer(self):
        return realm_issuer(g.realm)


#: The current app's server. Each app gets its own: Authlib's registries are lists, so one
#: server shared by several apps in a process (the tests build many) would register every grant
#: and extension again per app, e.g. adding ``iss`` to the authorization response once per app.
authorization_server: RealmAuthorizationServer = LocalProxy(  # type: ignore[assignment]
    lambda: current_app.extensions["idp.authorization_server"]
)


def authenticate_client_secret_basic(query_client, request):
    """Authlib's ``client_secret_basic``, with ``Basic`` credentials that are not UTF-8 taken as
    no credentials: Authlib raised ``UnicodeDecodeError`` on them, a 500 at every endpoint that
    authenticates clients. They are refused as wrong credentials are (``invalid_client``, 401)."""
    try:
        return authlib_client_secret_basic(query_client, request)
    except UnicodeDecodeError:
        return None


def init_authorization_server(app) -> None:
    server = RealmAuthorizationServer()
    server.init_app(app)
    server.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
    server.register_token_generator("default", tokens.generate_token)
    client_assertions.init_app(app, server)
    register_grants(app, server)
    server.register_endpoint(RealmRevocationEndpoint)
    server.register_endpoint(RealmIntrospectionEndpoint)
    server.register_endpoint(RealmEndSessionEndpoint)
    server.register_extension(RealmIssuerParameter())
    server.register_extension(AuthorizationParameterSyntax())
    app.extensions["idp.authorization_server"] = server
    from . import par, registration, resume

    resume.init_app(app)
    par.init_app(app)
    dpop.init_app(app)
    registration.init_app(app)


def active_access_token(realm, access_token: str) -> IssuedToken | None:
    row = tokens.find_by_access_token(realm, access_token)
    if row is None or row.revoked_at is not None or row.access_expires_at <= utcnow():
        return None
    return row
