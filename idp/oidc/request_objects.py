"""JWT-secured authorization requests (RFC 9101): an authorization request sent as a signed JWT
in the ``request`` parameter, to ``/authorize`` or inside a pushed request (``/par``).

Authlib's ``JWTAuthenticationRequest`` decodes it; this module says what is accepted:

- signed with one of the client's registered keys (``KEY_ALGORITHMS``, the key named by
  ``kid``) or, for a client that has a secret kept for ``client_secret_jwt``, an HMAC with it
  (``HS256``). Unsigned (``alg: none``) request objects are refused;
- ``iss`` = ``client_id`` = the ``client_id`` outside it, ``aud`` = the realm's issuer, an
  ``exp`` at most ``MAX_LIFETIME`` ahead, an ``nbf`` (if given) not in the future nor older
  than ``MAX_LIFETIME`` (RFC 9101 §10.2, §10.8);
- the parameters are the request object's only (RFC 9101 §5: outside parameters are ignored,
  ``client_id`` aside); numbers (``max_age``) become their text.

``request_uri`` is answered only for this provider's own pushed requests
(``urn:ietf:params:oauth:request_uri:...``, ``idp.oidc.par``): any other value gets
``request_uri_not_supported`` (discovery: ``request_uri_parameter_supported`` false), so no
URL a client names is ever fetched.

A client can be made to require request objects (``require_signed_request_object``, RFC 9101
§10.5): its plain authorization requests are then refused with ``invalid_request``."""
from __future__ import annotations

import json
import time
import warnings

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request
from authlib.oauth2.rfc9101 import JWTAuthenticationRequest
from authlib.oauth2.rfc9101.errors import InvalidRequestObjectError
from flask import g
from joserfc import jwt

from ..services.client_keys import KEY_ALGORITHMS, SECRET_ALGORITHMS, ClientKeysUnavailable, client_key_set
from .issuer import realm_issuer

ALGORITHMS = (*KEY_ALGORITHMS, *SECRET_ALGORITHMS)
#: Seconds of clock skew allowed on ``exp`` and ``nbf``.
LEEWAY = 60
#: The longest a request object may be valid (``exp``), and the oldest its ``nbf`` may be.
MAX_LIFETIME = 3600


class RequestObjects(JWTAuthenticationRequest):
    """Authlib's RFC 9101 extension, used by ``unpack_request_object`` (not as a server hook:
    the authorization view needs the unpacked parameters for the login it starts)."""

    def __init__(self):
        super().__init__(support_request=True, support_request_uri=False)

    @property
    def claims_validator(self):
        return jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            client_id={"essential": True},
            iss={"essential": True},
            aud={"essential": True, "values": [realm_issuer(g.realm)]},
            exp={"essential": True},
        )

    def get_request_object_signing_algorithms(self, client):
        return list(ALGORITHMS)

    def get_server_metadata(self):
        return {"require_signed_request_object": False}

    def get_client_require_signed_request_object(self, client):
        return bool(client.require_signed_request_object)

    def resolve_client_public_key(self, client):
        """The client's key named by ``kid``, or its secret for an HMAC: chosen once the header
        is read."""

        def key_for(token):
            headers = token.headers()
            try:
                if headers.get("alg") in SECRET_ALGORITHMS:
                    from .client_assertions import client_secret_key

                    if not client.client_secret_encrypted:
                        raise ClientKeysUnavailable(
                            "the client has no secret kept for HMAC-signed request objects: sign with its keys")
                    return client_secret_key(client)
                return client_key_set(client, headers.get("kid"))
            except ClientKeysUnavailable as error:
                raise InvalidRequestObjectError(description=str(error)) from None

        return key_for


def _as_parameter(value):
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def has_request_object(params: dict) -> bool:
    return "request" in params


def unpack_request_object(authorization_server, uri: str, params: dict) -> dict:
    """The authorization request carried by ``params["request"]``, checked, as parameters; an
    ``OAuth2Error`` (shown on the error page: the redirect URI inside cannot be trusted until
    the object is) otherwise."""
    oauth_request = OAuth2Request("GET", uri, headers={})
    oauth_request.payload = BasicOAuth2Payload(params)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated")
        RequestObjects().parse_authorization_request(authorization_server, oauth_request)
    claims = oauth_request.payload.data
    now = time.time()
    if claims.get("iss") != claims.get("client_id"):
        raise InvalidRequestObjectError(description="The request object's 'iss' must be the client_id.")
    if claims["exp"] > now + MAX_LIFETIME + LEEWAY:
        raise InvalidRequestObjectError(description=f"The request object's 'exp' is more than {MAX_LIFETIME} "
                                                    "seconds ahead.")
    nbf = claims.get("nbf")
    if nbf is not None and nbf < now - MAX_LIFETIME:
        raise InvalidRequestObjectError(description="The request object's 'nbf' is too old.")
    unpacked = {name: _as_parameter(value) for name, value in claims.items()
                if name not in ("iss", "aud", "exp", "nbf", "iat", "jti", "sub")}
    return {name: value for name, value in unpacked.items() if value is not None}


def require_request_object_error(client, state=None, redirect_uri=None):
    """The error for a plain request of a client that must send request objects, else None."""
    if not client.require_signed_request_object:
        return None
    return InvalidRequestError("This client must send its authorization requests as signed request objects "
                               "(RFC 9101).", state=state, redirect_uri=redirect_uri)


def discovery_metadata() -> dict:
    return {
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "request_object_signing_alg_values_supported": list(ALGORITHMS),
        "require_signed_request_object": False,
    }
