"""Client authentication with a signed JWT (RFC 7523 §2.2, OpenID Connect Core §9):
``private_key_jwt`` (signed with one of the client's registered keys) and
``client_secret_jwt`` (an HMAC with its secret), at every endpoint that authenticates clients
(token, PAR, introspection, revocation, device authorization).

Authlib's ``JWTBearerClientAssertion`` reads and checks the assertion; the hooks here say what
this provider accepts:

- the audience: the realm's issuer, its token endpoint, or the URL of the endpoint called
  (RFC 7523 §3 item 3, RFC 9126 §2, draft-ietf-oauth-rfc7523bis);
- ``iss`` = ``sub`` = the client id, an ``exp`` no later than ``MAX_LIFETIME`` seconds ahead
  (``LEEWAY`` of clock skew), an ``iat`` not in the future, a ``jti`` used once
  (``idp.oidc.jwt_ids``): a replayed assertion is refused;
- the algorithm: ``KEY_ALGORITHMS`` for keys, ``SECRET_ALGORITHMS`` for the secret, never
  ``none``; the key named by ``kid`` (a ``jwks_uri`` is fetched again for a new ``kid``,
  ``idp.services.client_keys``);
- the client: only one registered for that method (``Client.token_endpoint_auth_method``).

A ``client_secret_jwt`` client's secret is kept encrypted besides its digest (an HMAC cannot be
checked against a digest); see ``idp.services.client_authentication``."""
from __future__ import annotations

import datetime as dt
import time
import warnings

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import g
from flask import request as flask_request
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from ..services.client_keys import (
    KEY_ALGORITHMS,
    SECRET_ALGORITHMS,
    ClientKeysUnavailable,
    client_key_set,
)
from .issuer import realm_issuer
from .jwt_ids import claim_jwt_id

JWT_AUTH_METHODS = ("client_secret_jwt", "private_key_jwt")
#: Seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``.
LEEWAY = 60
#: The latest ``exp`` accepted, in seconds from now: an assertion is made for one request
#: (openid-client's live 60 s); its ``jti`` is kept until then.
MAX_LIFETIME = 300


def accepted_audiences() -> list[str]:
    """The realm's issuer, its token endpoint, and the endpoint this request was sent to."""
    issuer = realm_issuer(g.realm)
    return list(dict.fromkeys([issuer, f"{issuer}/token", flask_request.base_url]))


def peek_claims(assertion) -> dict | None:
    """The unverified claims of a compact JWS, to know which client it names (or None)."""
    try:
        import json

        claims = json.loads(jws.extract_compact(assertion.encode() if isinstance(assertion, str) else assertion).payload)
    except (JoseError, ValueError, TypeError, AttributeError):
        return None
    return claims if isinstance(claims, dict) else None


class ClientAssertion(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD: str
    ALGORITHMS: tuple[str, ...]

    def __init__(self):
        super().__init__(validate_jti=True, leeway=LEEWAY)

    def __call__(self, query_client, request):
        """Only for a client registered for this method: another client's assertion is left to
        its own method (so its ``jti`` is claimed once, by the method that checks it)."""
        data = request.form
        if data.get("client_assertion_type") != self.CLIENT_ASSERTION_TYPE or not data.get("client_assertion"):
            return None
        claims = peek_claims(data["client_assertion"])
        client_id = claims.get("sub") if claims else None
        if not isinstance(client_id, str) or not client_id:
            raise InvalidClientError(description="The client assertion is not a JWT naming its client in 'sub'.")
        if data.get("client_id") not in (None, client_id):
            raise InvalidClientError(description="'client_id' does not match the client assertion's 'sub'.")
        client = query_client(client_id)
        if client is None or client.token_endpoint_auth_method != self.CLIENT_AUTH_METHOD:
            return None
        return super().__call__(lambda asked: client if asked == client_id else query_client(asked), request)

    def get_audiences(self):
        return accepted_audiences()

    def process_assertion_claims(self, assertion, resolve_key):
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="EdDSA is deprecated")
                token = jwt.decode(assertion, resolve_key, algorithms=list(self.ALGORITHMS))
        except ClientKeysUnavailable as error:
            raise InvalidClientError(description=str(error)) from None
        except JoseError as error:
            raise InvalidClientError(description=error.description or error.error) from None
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims):
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if isinstance(exp, int | float) and exp > now + MAX_LIFETIME + LEEWAY:
            raise InvalidClientError(description=f"The client assertion's 'exp' is more than {MAX_LIFETIME} "
                                                 "seconds ahead: make one per request.")
        if iat is not None and (not isinstance(iat, int | float) or iat > now + LEEWAY):
            raise InvalidClientError(description="The client assertion's 'iat' is in the future.")
        super().verify_claims(claims)

    def validate_jti(self, claims, jti):
        expires_at = dt.datetime.fromtimestamp(claims["exp"] + LEEWAY, dt.UTC)
        return claim_jwt_id("client_assertion", f"{g.realm.id}:{claims['sub']}", jti, expires_at)


class PrivateKeyJwt(ClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"
    ALGORITHMS = KEY_ALGORITHMS

    def resolve_client_public_key(self, client):
        """The key set, looked up when the JWT's header is known (a new ``kid`` refetches)."""
        return lambda token: client_key_set(client, token.headers().get("kid"))


class ClientSecretJwt(ClientAssertion):
    CLIENT_AUTH_METHOD = "client_secret_jwt"
    ALGORITHMS = SECRET_ALGORITHMS

    def resolve_client_public_key(self, client):
        return client_secret_key(client)


def client_secret_key(client) -> OctKey:
    """The HMAC key of a ``client_secret_jwt`` client: its secret, decrypted."""
    from ..security import decrypt

    if not client.client_secret_encrypted:
        raise InvalidClientError(description="The client has no secret to check a client_secret_jwt with.")
    try:
        return OctKey.import_key(decrypt(client.client_secret_encrypted))
    except ValueError:
        raise InvalidClientError(description="The client's secret cannot be read; rotate it.") from None


def init_app(app, server) -> None:
    server.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt())
    server.register_client_auth_method(ClientSecretJwt.CLIENT_AUTH_METHOD, ClientSecretJwt())
    from . import jwt_ids

    jwt_ids.init_app(app)


def discovery_metadata() -> dict:
    """OpenID Connect Discovery §3: the algorithms a client assertion may be signed with, at the
    token endpoint and at the others that authenticate clients."""
    algorithms = [*KEY_ALGORITHMS, *SECRET_ALGORITHMS]
    return {name: list(algorithms) for name in (
        "token_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
        "introspection_endpoint_auth_signing_alg_values_supported")}
