"""Direct-to-API login routes (no API key: a browser calls them through idp.js, or an app's
back end calls them with its client credentials to also receive its OIDC tokens)."""
from __future__ import annotations

import binascii

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import g, jsonify, request

from ..ratelimit import form_limits, limit_failed_attempts, limiter
from ..services.clients import find_client
from . import api_bp, direct_login
from .access import cors, public
from .client_tokens import (
    ClientCredentials,
    authenticate_client,
    authorization_request_for,
    check_authorization_request,
)
from .errors import ApiError, invalid_fields
from .parameters import Field, body_fields, check_text

CLIENT_FIELDS = {
    "client_id": Field(max_length=64),
    "client_secret": Field(max_length=200),
}
LOGIN_TOKEN = Field(required=True, max_length=300)


def _presented_credentials(fields: dict) -> ClientCredentials | None:
    """Client credentials sent with the request: HTTP Basic (``client_secret_basic``) or
    ``client_id`` + ``client_secret`` in the body (``client_secret_post``)."""
    if request.headers.get("Authorization", "").lower().startswith("basic "):
        try:
            client_id, secret = extract_basic_authorization(request.headers)
        except (ValueError, binascii.Error):
            client_id, secret = None, None
        if not client_id or not secret or check_text(client_id, 64) or check_text(secret, 200):
            raise ApiError(401, "invalid_client", "The client credentials in the Authorization header are not valid.",
                           headers={"WWW-Authenticate": 'Basic realm="token"'})
        if fields.get("client_id") not in (None, client_id):
            raise invalid_fields({"client_id": "Does not match the client in the Authorization header."})
        return ClientCredentials(client_id, secret, "client_secret_basic")
    if "client_secret" in fields:
        if "client_id" not in fields:
            raise invalid_fields({"client_id": "Required with client_secret."})
        return ClientCredentials(fields["client_id"], fields["client_secret"], "client_secret_post")
    return None


def _login_client(fields: dict, credentials: ClientCredentials | None):
    if credentials is not None:
        client = authenticate_client(credentials)
    else:
        client_id = fields.get("client_id")
        if not client_id:
            raise invalid_fields({"client_id": "This field is required."})
        client = find_client(g.realm, client_id)
        if client is None:
            raise invalid_fields({"client_id": "There is no such client in this realm."})
    if not client.first_party:
        raise ApiError(403, "unauthorized_client",
                       "Only first-party clients may collect passwords; third-party clients use the hosted login.")
    return client


@api_bp.post("/realms/<realm_name>/sessions/authenticate")
@limit_failed_attempts
@public
@cors
def authenticate():
    """Email and password for a client: ``full_login`` or ``needs_mfa`` (authrocket-2fa.txt)."""
    fields = body_fields({
        "email": Field(required=True, max_length=320),
        "password": Field(required=True, max_length=1024),
        "scope": Field(max_length=500),
        "nonce": Field(max_length=255),
        "acr_values": Field(max_length=500),
        "organization": Field(max_length=64),
        **CLIENT_FIELDS,
    })
    credentials = _presented_credentials(fields)
    client = _login_client(fields, credentials)
    params = authorization_request_for(client, scope=fields.get("scope"), nonce=fields.get("nonce"),
                                       acr_values=fields.get("acr_values"), organization=fields.get("organization"))
    if credentials is not None:
        check_authorization_request(params)
    return jsonify(direct_login.authenticate_with_password(
        g.realm, client, email=fields["email"], password=fields["password"], authorization_request=params,
        credentials=credentials))


@api_bp.post("/realms/<realm_name>/sessions/send_code")
@limiter.limit(form_limits)
@public
@cors
def send_code():
    fields = body_fields({"token": LOGIN_TOKEN, "factor": Field(max_length=16)})
    return jsonify(direct_login.send_login_code(g.realm, fields["token"], fields.get("factor", "sms")))


@api_bp.post("/realms/<realm_name>/sessions/complete_mfa")
@limit_failed_attempts
@public
@cors
def complete_mfa():
    """The ``kli_`` token and a TOTP, SMS or recovery code: the same answer as a full login."""
    fields = body_fields({
        "token": LOGIN_TOKEN,
        "code": Field(required=True, max_length=64),
        "factor": Field(max_length=16),
        "email": Field(max_length=320),
        **CLIENT_FIELDS,
    })
    credentials = _presented_credentials(fields)
    if credentials is not None:
        authenticate_client(credentials)
    return jsonify(direct_login.complete_mfa(g.realm, fields["token"], fields["code"],
                                             factor_kind=fields.get("factor"), credentials=credentials))
