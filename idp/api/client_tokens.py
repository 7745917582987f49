"""A relying client's OIDC token response for a login finished through the API.

Why a round trip through Authlib rather than minting tokens here: every protocol rule (which
clients may use the code grant, redirect URI and scope checks, client authentication, code
single use, the refresh-token decision, the ID token's claims from the OpenIDCode extension,
storage of the issued tokens) already lives in the grants registered on
``authorization_server``. So a direct login is turned into exactly what a hosted login
produces:

1. an authorization request ``{response_type: code, client_id, redirect_uri (the client's
   first registered one), scope, nonce}`` is kept in the login transaction, like any other;
2. when the login completes, ``create_authorization_response`` answers it for the user, whose
   ``AuthenticatedUser`` carries ``auth_time``/``amr``/``acr`` into the code row as a hosted
   login's ``LoginResult`` does (there is no browser session, so no ``sid``);
3. the code is redeemed at once with a token request built in memory that carries the same
   client credentials the API request presented (``client_secret_basic`` or ``_post``).

The code never leaves the process, and a replay of it is caught by the grant like any other."""
from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request
from flask import url_for

from ..login.acr import acr_for
from ..login.resume import LoginResult
from ..oidc.resume import authenticated_user, login_organization_id
from ..oidc.server import authorization_server
from .errors import ApiError

DEFAULT_SCOPE = "openid profile email"


class ClientCredentials:
    """The client id and secret a request presented, and how (``client_secret_basic`` in the
    Authorization header, or ``client_secret_post`` in the JSON body)."""

    def __init__(self, client_id: str, client_secret: str, method: str):
        self.client_id = client_id
        self.client_secret = client_secret
        self.method = method

    def headers(self) -> dict:
        if self.method != "client_secret_basic":
            return {}
        raw = f"{_form_encode(self.client_id)}:{_form_encode(self.client_secret)}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def form(self) -> dict:
        if self.method != "client_secret_post":
            return {}
        return {"client_id": self.client_id, "client_secret": self.client_secret}


def _form_encode(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


class _FormRequest(OAuth2Request):
    """A token request built in memory: ``form`` is the given parameters."""

    def __init__(self, uri: str, params: dict, headers: dict):
        super().__init__("POST", uri, headers=headers)
        self.payload = BasicOAuth2Payload(params)
        self._params = params

    @property
    def form(self):
        return self._params

    @property
    def args(self):
        return {}


def _api_error(error: OAuth2Error) -> ApiError:
    status = error.status_code if error.status_code and error.status_code >= 400 else 400
    headers = {"WWW-Authenticate": 'Basic realm="token"'} if status == 401 else {}
    return ApiError(status, error.error, error.description or error.error, headers=headers)


def authenticate_client(credentials: ClientCredentials):
    """The confidential client these credentials authenticate, checked by Authlib's token
    endpoint client authentication; a 401 ``invalid_client`` otherwise."""
    request = _FormRequest(url_for("oidc.token", _external=True), credentials.form(), credentials.headers())
    try:
        return authorization_server.authenticate_client(
            request, ["client_secret_basic", "client_secret_post"], endpoint="token")
    except OAuth2Error as error:
        raise _api_error(error) from None


def authorization_request_for(client, *, scope: str | None = None, nonce: str | None = None,
                              acr_values: str | None = None, organization: str | None = None) -> dict:
    params = {"response_type": "code", "client_id": client.client_id, "scope": scope or DEFAULT_SCOPE}
    if client.redirect_uris:
        params["redirect_uri"] = client.redirect_uris[0]
    if nonce:
        params["nonce"] = nonce
    if acr_values:
        params["acr_values"] = acr_values
    if organization:
        params["organization"] = organization
    return params


def _authorization_grant(params: dict):
    request = authorization_server.authorization_request_from(url_for("oidc.authorize", _external=True), params)
    try:
        return request, authorization_server.get_authorization_grant(request)
    except OAuth2Error as error:
        raise _api_error(error) from None


def check_authorization_request(params: dict) -> None:
    """Authlib's checks of the code request (client allowed the code grant, redirect URI,
    scope, nonce), run before the user's password so a refusal costs the user nothing."""
    _request, grant = _authorization_grant(params)
    try:
        grant.validate_authorization_request()
    except OAuth2Error as error:
        raise _api_error(error) from None
    if getattr(_request.client, "dpop_bound_access_tokens", False):
        raise ApiError(400, "unauthorized_client", "This client must use DPoP (RFC 9449), which this API cannot "
                                                   "carry: log users in through the authorization code flow.")


def issue_client_tokens(txn, user, credentials: ClientCredentials) -> dict:
    """The client's token response (access and ID token, and a refresh token when the scope
    has ``offline_access``) for a completed login."""
    params = dict(txn.authorization_request)
    amr = list(txn.amr or [])
    result = LoginResult(user=user, amr=amr, acr=acr_for(amr), auth_time=txn.auth_time, sid=None)
    request, grant = _authorization_grant(params)
    response = authorization_server.create_authorization_response(
        request=request, grant=grant,
        grant_user=authenticated_user(result, organization_id=login_organization_id(txn)))
    answer = {k: v[0] for k, v in parse_qs(urlsplit(response.location or "").query).items()}
    if "code" not in answer:
        raise ApiError(400, answer.get("error", "invalid_request"),
                       answer.get("error_description", "The client cannot receive tokens for this login."))
    token_params = {"grant_type": "authorization_code", "code": answer["code"], **credentials.form()}
    if params.get("redirect_uri"):
        token_params["redirect_uri"] = params["redirect_uri"]
    token_request = _FormRequest(url_for("oidc.token", _external=True), token_params, credentials.headers())
    try:
        grant = authorization_server.get_token_grant(token_request)
        grant.validate_token_request()
        _status, token, _headers = grant.create_token_response()
    except OAuth2Error as error:
        raise _api_error(error) from None
    return dict(token)
