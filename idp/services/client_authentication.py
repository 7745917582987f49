"""How a confidential client authenticates at the token endpoint and the others
(``token_endpoint_auth_method``, RFC 7591 §2), and the public keys it registers.

- ``client_secret_basic`` / ``client_secret_post``: a secret, kept only as a keyed digest;
  a client registered for either may use both (as every client could before methods were
  registered).
- ``client_secret_jwt``: a JWT signed with HMAC-SHA256 using the secret (RFC 7523, OpenID
  Connect Core §9). Checking an HMAC needs the secret itself, which a digest cannot give back,
  so such a client's secret is also kept encrypted with the instance's encryption key (as TOTP
  seeds are); switching a client to this method issues a new secret, since the old one was
  never kept. Switching away drops the encrypted copy.
- ``private_key_jwt``: a JWT signed with one of the client's keys, registered inline
  (``jwks``) or published at a ``jwks_uri`` (``idp.services.client_keys``). Such a client has
  no secret at all: switching to it removes the secret; switching back issues a new one.

A client registered for one method cannot authenticate with another
(``Client.check_endpoint_auth_method``)."""
from __future__ import annotations

from ..security import encrypt, keyed_digest, random_token
from . import ServiceError
from .client_keys import check_jwks, check_jwks_uri, forget_jwks_uri

CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt")
AUTH_METHODS = (*CONFIDENTIAL_AUTH_METHODS, "none")
#: Passed for a setting to leave as it is.
UNCHANGED = object()


def check_auth_method(method: str, *, public: bool) -> str:
    if public:
        if method not in (None, "", "none"):
            raise ServiceError("a public client authenticates with 'none' (it has no secret or key)",
                               field="token_endpoint_auth_method")
        return "none"
    method = method or "client_secret_basic"
    if method not in CONFIDENTIAL_AUTH_METHODS:
        raise ServiceError(f"token_endpoint_auth_method must be one of {', '.join(CONFIDENTIAL_AUTH_METHODS)}",
                           field="token_endpoint_auth_method")
    return method


def _new_secret(client) -> str:
    secret = random_token(32)
    client.client_secret_digest = keyed_digest(secret)
    return secret


def configure_client_authentication(client, method=UNCHANGED, *, jwks=UNCHANGED, jwks_uri=UNCHANGED,
                                    secret: str | None = None) -> str | None:
    """Set how ``client`` authenticates and the keys it registers (``UNCHANGED`` keeps one; None
    or "" removes the keys). ``secret`` is its plain secret when the caller has it (at
    creation). Returns a secret to hand out when a new one was issued, else None. The caller
    commits, or rolls back on ``ServiceError``."""
    old_method = client.token_endpoint_auth_method
    new_method = old_method if method is UNCHANGED else check_auth_method(method, public=client.public)
    new_jwks = client.jwks if jwks is UNCHANGED else (check_jwks(jwks) if jwks else None)
    new_jwks_uri = client.jwks_uri if jwks_uri is UNCHANGED else (check_jwks_uri(jwks_uri) if jwks_uri else None)
    if jwks is not UNCHANGED and jwks and jwks_uri is UNCHANGED:
        new_jwks_uri = None
    if jwks_uri is not UNCHANGED and jwks_uri and jwks is UNCHANGED:
        new_jwks = None
    if new_jwks and new_jwks_uri:
        raise ServiceError("give jwks or jwks_uri, not both (RFC 7591, section 2)", field="jwks")
    if new_method == "private_key_jwt" and not (new_jwks or new_jwks_uri):
        raise ServiceError("a private_key_jwt client needs its public keys: give jwks or jwks_uri", field="jwks")
    if client.jwks_uri != new_jwks_uri:
        forget_jwks_uri(client.jwks_uri)
    client.jwks, client.jwks_uri = new_jwks, new_jwks_uri
    client.registered_auth_method = None if client.public else new_method
    issued = None
    if client.public:
        return None
    if new_method == "private_key_jwt":
        client.client_secret_digest = None
        client.client_secret_encrypted = None
    elif new_method == "client_secret_jwt":
        if secret is None and not client.client_secret_encrypted:
            secret = issued = _new_secret(client)
        if secret is not None:
            client.client_secret_encrypted = encrypt(secret)
    else:
        client.client_secret_encrypted = None
        if not client.client_secret_digest:
            issued = _new_secret(client)
    return issued


def rotated_secret(client) -> str:
    """A new secret for ``client`` (kept as a digest, and encrypted for client_secret_jwt)."""
    if client.public:
        raise ServiceError("public clients have no secret")
    if client.token_endpoint_auth_method == "private_key_jwt":
        raise ServiceError("this client authenticates with private_key_jwt: it has no secret (rotate its keys)")
    secret = _new_secret(client)
    if client.token_endpoint_auth_method == "client_secret_jwt":
        client.client_secret_encrypted = encrypt(secret)
    return secret


def describe_client_authentication(client) -> dict:
    """What the API and console show: the method and the keys (public keys only)."""
    return {"token_endpoint_auth_method": client.token_endpoint_auth_method,
            "jwks": client.jwks, "jwks_uri": client.jwks_uri,
            "require_signed_request_object": bool(client.require_signed_request_object)}


def set_client_authentication(client, method=UNCHANGED, *, jwks=UNCHANGED, jwks_uri=UNCHANGED,
                              require_signed_request_object: bool | None = None) -> str | None:
    """Change how ``client`` authenticates (``configure_client_authentication``) and whether it
    must send signed request objects; records what changed. Returns a newly issued secret, or
    None."""
    from ..extensions import db
    from ..models import Realm
    from .audit import record_event

    before = describe_client_authentication(client)
    issued = configure_client_authentication(client, method, jwks=jwks, jwks_uri=jwks_uri)
    if require_signed_request_object is not None:
        client.require_signed_request_object = bool(require_signed_request_object)
    after = describe_client_authentication(client)
    changes = {name: (value if name != "jwks" else bool(value)) for name, value in after.items()
               if before[name] != value}
    if changes:
        record_event("client.updated", realm=db.session.get(Realm, client.realm_id), client_id=client.client_id,
                     **changes)
    if issued:
        record_event("client.secret_rotated", realm=db.session.get(Realm, client.realm_id),
                     client_id=client.client_id)
    return issued
