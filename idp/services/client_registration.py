"""Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592): the rules.

A realm with ``dynamic_client_registration`` on lets apps register themselves at
``/realms/<realm>/register`` (``idp.oidc.registration``, the protocol surface). An operator hands
out *initial access tokens* (``idp clients initial-token create``, the console, the API): each
expires and may be limited to a number of registrations. A realm may also allow anonymous
registration (``anonymous_client_registration``): such clients are capped per realm
(``MAX_ANONYMOUS_CLIENTS``), limited per network (``ANONYMOUS_REGISTRATION_RATE_LIMIT``) and
expire after ``ANONYMOUS_CLIENT_LIFETIME`` (the purge deletes them) unless an operator keeps
them (``keep_registered_client``).

What a self-registered client may ask for is narrower than what an operator may grant:

- grant types: ``authorization_code``, ``refresh_token`` and the device grant only
  (``SELF_SERVICE_GRANT_TYPES``); ``client_credentials`` and token exchange act without a user
  or for other clients and stay an operator's decision (``invalid_client_metadata``);
- redirect URIs: https; plain http only on loopback, and loopback and private-use schemes only
  for ``application_type=native`` (RFC 8252, OpenID Connect Registration §2); never a wildcard,
  a fragment or user info (``invalid_redirect_uri``);
- the app is a third party: its users always see the consent page.

Initial access tokens and registration access tokens are stored as keyed digests only
(``idp.security.keyed_digest``) and compared through them."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from ..extensions import db
from ..models import Client, InitialAccessToken, utcnow
from ..security import digests_equal, keyed_digest, random_token
from . import NotFound, ServiceError
from .keys import ID_TOKEN_ALGORITHMS

#: Grants a client may give itself; the others are granted by an operator only.
SELF_SERVICE_GRANT_TYPES = ("authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code")
#: ``token_endpoint_auth_method`` values a registration may ask for.
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none")
APPLICATION_TYPES = ("web", "native")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")

INITIAL_TOKEN_LIFETIME_RANGE = (60, 365 * 86400)
DEFAULT_INITIAL_TOKEN_LIFETIME = 86400
MAX_USES_RANGE = (1, 100000)
#: Anonymous registrations: at most this many unexpired such clients per realm, at most this
#: many per network, and each lives this long unless an operator keeps it.
MAX_ANONYMOUS_CLIENTS = 500
ANONYMOUS_REGISTRATION_RATE_LIMIT = "10 per hour"
ANONYMOUS_CLIENT_LIFETIME = 30 * 86400
MAX_REDIRECT_URIS = 20
MAX_METADATA_BYTES = 32 * 1024


class RegistrationError(Exception):
    """An RFC 7591 §3.2.2 error: ``invalid_redirect_uri``, ``invalid_client_metadata`` or
    (RFC 7592) ``invalid_request``."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


def _metadata_error(description: str) -> RegistrationError:
    return RegistrationError("invalid_client_metadata", description)


def _redirect_error(description: str) -> RegistrationError:
    return RegistrationError("invalid_redirect_uri", description)


# --- initial access tokens -------------------------------------------------------------------

def create_initial_access_token(realm, *, expires_in: int = DEFAULT_INITIAL_TOKEN_LIFETIME,
                                max_uses: int | None = None, note: str = "") -> tuple[InitialAccessToken, str]:
    """A new initial access token; returns the row and the plain token, shown once."""
    from .audit import record_event

    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or \
            not INITIAL_TOKEN_LIFETIME_RANGE[0] <= expires_in <= INITIAL_TOKEN_LIFETIME_RANGE[1]:
        raise ServiceError(f"expires_in must be between {INITIAL_TOKEN_LIFETIME_RANGE[0]} and "
                           f"{INITIAL_TOKEN_LIFETIME_RANGE[1]} seconds", field="expires_in")
    if max_uses is not None and (isinstance(max_uses, bool) or not isinstance(max_uses, int)
                                 or not MAX_USES_RANGE[0] <= max_uses <= MAX_USES_RANGE[1]):
        raise ServiceError(f"max_uses must be between {MAX_USES_RANGE[0]} and {MAX_USES_RANGE[1]}",
                           field="max_uses")
    note = (note or "").strip()
    if len(note) > 200:
        raise ServiceError("the note must be at most 200 characters", field="note")
    plain = "iat_" + random_token(32)
    row = InitialAccessToken(realm_id=realm.id, token_digest=keyed_digest(plain), note=note, max_uses=max_uses,
                             uses=0, created_at=utcnow(), expires_at=utcnow() + dt.timedelta(seconds=expires_in))
    db.session.add(row)
    db.session.flush()
    record_event("client.initial_access_token_created", realm=realm, token_id=row.id, max_uses=max_uses,
                 expires_at=row.expires_at.isoformat())
    return row, plain


def list_initial_access_tokens(realm) -> list[InitialAccessToken]:
    return list(db.session.scalars(db.select(InitialAccessToken).filter_by(realm_id=realm.id)
                                   .where(InitialAccessToken.expires_at > utcnow())
                                   .order_by(InitialAccessToken.created_at.desc())))


def revoke_initial_access_token(realm, token_id: int) -> None:
    from .audit import record_event

    row = db.session.scalar(db.select(InitialAccessToken).filter_by(realm_id=realm.id, id=token_id))
    if row is None:
        raise NotFound(f"initial access token {token_id} does not exist in realm '{realm.name}'")
    db.session.delete(row)
    record_event("client.initial_access_token_revoked", realm=realm, token_id=token_id)


def use_initial_access_token(realm, plain: str) -> bool:
    """Count one registration against the token: False when it is unknown, expired or used up.
    One ``UPDATE``, so two registrations racing for the last use cannot both have it. Not
    committed here: it commits with the client it lets in."""
    if not plain or len(plain) > 200:
        return False
    table = InitialAccessToken
    return bool(db.session.execute(
        db.update(table)
        .where(table.realm_id == realm.id, table.token_digest == keyed_digest(plain), table.expires_at > utcnow())
        .where((table.max_uses.is_(None)) | (table.uses < table.max_uses))
        .values(uses=table.uses + 1)
    ).rowcount)


# --- client metadata -------------------------------------------------------------------------

def _string(metadata: dict, name: str, max_length: int = 500) -> str | None:
    value = metadata.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise _metadata_error(f"'{name}' must be a string of at most {max_length} characters.")
    return value.strip() or None


def _strings(metadata: dict, name: str, max_items: int = MAX_REDIRECT_URIS) -> list[str] | None:
    value = metadata.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > max_items or not all(isinstance(v, str) for v in value):
        raise _metadata_error(f"'{name}' must be an array of at most {max_items} strings.")
    return list(dict.fromkeys(value))


def check_self_service_redirect_uri(uri: str, application_type: str, field: str = "redirect_uris") -> str:
    """RFC 7591 §2 / OpenID Connect Registration §2 / RFC 8252 §7: web apps use https; native
    apps may also use loopback http or a private-use scheme (``com.example.app:/cb``). No
    wildcard, fragment or user info anywhere."""
    from .clients import validate_redirect_uri

    if "*" in uri:
        raise _redirect_error(f"'{uri[:200]}' in {field}: wildcards are not allowed; register each URI.")
    try:
        uri = validate_redirect_uri(uri)
    except ServiceError as error:
        raise _redirect_error(f"{error.message} ({field})") from None
    parts = urlsplit(uri)
    if len(uri) > 2048 or parts.username is not None or parts.password is not None:
        raise _redirect_error(f"'{uri[:200]}' in {field}: at most 2048 characters, without user info.")
    if parts.scheme == "https":
        if parts.hostname in LOOPBACK_HOSTS and application_type != "native":
            raise _redirect_error(f"'{uri[:200]}' in {field}: localhost is for native apps "
                                  "(application_type native).")
        return uri
    if application_type != "native":
        raise _redirect_error(f"'{uri[:200]}' in {field}: web apps must use https redirect URIs.")
    if parts.scheme == "http":
        return uri  # loopback, checked by validate_redirect_uri
    if "." not in parts.scheme:
        raise _redirect_error(f"'{uri[:200]}' in {field}: a native app's own scheme must be a reversed domain "
                              "name such as com.example.app (RFC 8252 §7.1).")
    return uri


def parse_client_metadata(metadata) -> dict:
    """The registration request's metadata, checked (RFC 7591 §2), as the arguments of the
    client it describes. Unknown members are ignored (RFC 7591 §2)."""
    from ..models import SUPPORTED_SCOPES
    from .clients import validate_home_uri

    if not isinstance(metadata, dict):
        raise RegistrationError("invalid_request", "The body must be a JSON object of client metadata.")
    application_type = _string(metadata, "application_type", 16) or "web"
    if application_type not in APPLICATION_TYPES:
        raise _metadata_error("'application_type' must be web or native.")
    auth_method = _string(metadata, "token_endpoint_auth_method", 64) or "client_secret_basic"
    if auth_method not in AUTH_METHODS:
        raise _metadata_error(f"'token_endpoint_auth_method' must be one of {', '.join(AUTH_METHODS)}.")
    grant_types = _strings(metadata, "grant_types", 10) or ["authorization_code"]
    from .clients import full_grant_type

    grant_types = [full_grant_type(g) for g in grant_types]
    refused = [g for g in grant_types if g not in SELF_SERVICE_GRANT_TYPES]
    if refused:
        raise _metadata_error(f"The grant type '{refused[0][:100]}' cannot be self-registered; self-registered "
                              f"clients may use {', '.join(SELF_SERVICE_GRANT_TYPES)}. Ask an administrator.")
    response_types = _strings(metadata, "response_types", 5)
    if response_types is None:
        response_types = ["code"] if "authorization_code" in grant_types else []
    if any(r != "code" for r in response_types):
        raise _metadata_error("'response_types' may only hold 'code'.")
    if bool(response_types) != ("authorization_code" in grant_types):
        raise _metadata_error("'response_types' code and 'grant_types' authorization_code go together "
                              "(RFC 7591 §2.1).")
    redirect_uris = _strings(metadata, "redirect_uris") or []
    if "authorization_code" in grant_types and not redirect_uris:
        raise _redirect_error("'redirect_uris' is required for the authorization_code grant.")
    redirect_uris = [check_self_service_redirect_uri(u, application_type) for u in redirect_uris]
    logout_uris = [check_self_service_redirect_uri(u, application_type, "post_logout_redirect_uris")
                   for u in _strings(metadata, "post_logout_redirect_uris") or []]
    name = _string(metadata, "client_name", 200)
    if name is None:
        host = urlsplit(redirect_uris[0]).hostname if redirect_uris else None
        name = f"App at {host}" if host else "Unnamed app"
    scope = _string(metadata, "scope", 500)
    if scope is not None:
        unknown = [s for s in scope.split() if s not in SUPPORTED_SCOPES]
        if unknown:
            raise _metadata_error(f"Unknown scope '{unknown[0][:64]}'; scopes are {', '.join(SUPPORTED_SCOPES)}.")
        scope = " ".join(dict.fromkeys(scope.split()))
    alg = _string(metadata, "id_token_signed_response_alg", 16) or "RS256"
    if alg not in ID_TOKEN_ALGORITHMS:
        raise _metadata_error(f"'id_token_signed_response_alg' must be one of {', '.join(ID_TOKEN_ALGORITHMS)}.")
    client_uri = _string(metadata, "client_uri")
    logo_uri = _string(metadata, "logo_uri")
    try:
        client_uri = validate_home_uri(client_uri) if client_uri else None
        logo_uri = validate_home_uri(logo_uri) if logo_uri else None
    except ServiceError as error:
        raise _metadata_error(error.message.replace("home URI", "client_uri/logo_uri")) from None
    jwks = metadata.get("jwks")
    if jwks is not None and not isinstance(jwks, dict):
        raise _metadata_error("'jwks' must be a JSON Web Key Set (an object with 'keys').")
    jwks_uri = _string(metadata, "jwks_uri", 2000)
    if auth_method == "none" and (jwks or jwks_uri):
        raise _metadata_error("A public client (token_endpoint_auth_method none) registers no keys.")
    return {
        "name": name, "redirect_uris": redirect_uris, "post_logout_redirect_uris": logout_uris,
        "public": auth_method == "none", "grant_types": grant_types, "scope": scope,
        "id_token_signed_response_alg": alg, "home_uri": client_uri, "logo_uri": logo_uri,
        "token_endpoint_auth_method": auth_method, "jwks": jwks, "jwks_uri": jwks_uri,
    }


def client_metadata(client: Client, issuer: str) -> dict:
    """What the server registered for ``client`` (RFC 7591 §3.2.1 / RFC 7592 §3)."""
    native = any(urlsplit(u).scheme not in ("https",) or urlsplit(u).hostname in LOOPBACK_HOSTS
                 for u in client.redirect_uris or [])
    body = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "application_type": "native" if native else "web",
        "redirect_uris": list(client.redirect_uris or []),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "grant_types": list(client.grant_types or []),
        "response_types": ["code"] if "authorization_code" in (client.grant_types or []) else [],
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": client.scope,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "registration_client_uri": f"{issuer}/register/{client.client_id}",
    }
    if not client.public and client.token_endpoint_auth_method != "private_key_jwt":
        body["client_secret_expires_at"] = 0
    if client.jwks:
        body["jwks"] = client.jwks
    if client.jwks_uri:
        body["jwks_uri"] = client.jwks_uri
    if client.home_uri:
        body["client_uri"] = client.home_uri
    if client.logo_uri:
        body["logo_uri"] = client.logo_uri
    return body


# --- registration and management -------------------------------------------------------------

def anonymous_clients_alive(realm) -> int:
    return db.session.scalar(db.select(db.func.count(Client.id)).where(
        Client.realm_id == realm.id, Client.self_registered.is_(True), Client.expires_at.is_not(None),
        Client.expires_at > utcnow())) or 0


def register_client(realm, metadata: dict, *, anonymous: bool) -> tuple[Client, str | None, str]:
    """Register a client from RFC 7591 metadata. Returns it with its plain secret (None for a
    public client) and its registration access token, both shown once. The caller commits."""
    from .audit import record_event
    from .clients import create_client

    arguments = parse_client_metadata(metadata)
    if anonymous and anonymous_clients_alive(realm) >= MAX_ANONYMOUS_CLIENTS:
        raise RegistrationError("invalid_request", "This realm has reached its number of anonymously "
                                                   "registered clients; ask an administrator for an initial access token.")
    scope = arguments.pop("scope")
    if arguments["public"]:
        arguments.pop("token_endpoint_auth_method")
    try:
        client, secret = create_client(realm, first_party=False, **arguments)
    except ServiceError as error:
        if error.field in ("redirect_uri", "redirect_uris", "post_logout_redirect_uris"):
            raise _redirect_error(error.message) from None
        raise _metadata_error(error.message) from None
    if scope:
        client.scope = scope
    registration_token = "rat_" + random_token(32)
    client.self_registered = True
    client.registration_token_digest = keyed_digest(registration_token)
    if anonymous:
        client.expires_at = utcnow() + dt.timedelta(seconds=ANONYMOUS_CLIENT_LIFETIME)
    record_event("client.registered", realm=realm, client_id=client.client_id, name=client.name, anonymous=anonymous)
    return client, secret, registration_token


def client_by_registration_token(realm, client_id: str, token: str) -> Client | None:
    """The self-registered client ``client_id`` when ``token`` is its registration access token."""
    from .clients import find_client

    if not token or len(token) > 200 or not client_id or len(client_id) > 64:
        return None
    client = find_client(realm, client_id)
    if client is None or not client.registration_token_digest:
        return None
    if client.expires_at is not None and client.expires_at <= utcnow():
        return None
    if not digests_equal(keyed_digest(token), client.registration_token_digest):
        return None
    return client


def update_registered_client(client: Client, metadata) -> str | None:
    """RFC 7592 §2.2: the metadata replaces the registration (omitted fields take their defaults).
    Returns a new client secret when the change of ``token_endpoint_auth_method`` issued one (to
    ``client_secret_jwt``, or back from ``private_key_jwt``), shown once in the answer. The
    caller commits, or rolls back on ``RegistrationError``."""
    from .clients import _record_update, check_grant_types, set_home_uri

    if not isinstance(metadata, dict):
        raise RegistrationError("invalid_request", "The body must be a JSON object of client metadata.")
    for forbidden in ("registration_access_token", "registration_client_uri", "client_secret_expires_at",
                      "client_id_issued_at"):
        if forbidden in metadata:
            raise RegistrationError("invalid_request", f"'{forbidden}' may not be sent in an update (RFC 7592 §2.2).")
    if metadata.get("client_id") != client.client_id:
        raise RegistrationError("invalid_request", "'client_id' must be sent and be this client's.")
    if "client_secret" in metadata and not (isinstance(metadata["client_secret"], str)
                                            and client.check_client_secret(metadata["client_secret"])):
        raise RegistrationError("invalid_request", "'client_secret' does not match this client's secret.")
    arguments = parse_client_metadata(metadata)
    if arguments["public"] != bool(client.public):
        raise _metadata_error("'token_endpoint_auth_method' cannot switch between a public and a confidential "
                              "client; register a new client.")
    issued_secret = None
    try:
        grant_types = check_grant_types(arguments["grant_types"], public=client.public,
                                        redirect_uris=arguments["redirect_uris"])
        set_home_uri(client, arguments["home_uri"])
        if not client.public:
            from .client_authentication import configure_client_authentication

            issued_secret = configure_client_authentication(
                client, arguments["token_endpoint_auth_method"], jwks=arguments["jwks"],
                jwks_uri=arguments["jwks_uri"])
    except ServiceError as error:
        raise _metadata_error(error.message) from None
    client.name = arguments["name"]
    client.redirect_uris = arguments["redirect_uris"]
    client.post_logout_redirect_uris = arguments["post_logout_redirect_uris"]
    client.grant_types = grant_types
    client.scope = arguments["scope"] or "openid profile email offline_access"
    client.id_token_signed_response_alg = arguments["id_token_signed_response_alg"]
    client.logo_uri = arguments["logo_uri"]
    _record_update(client, redirect_uris=client.redirect_uris, grant_types=grant_types, by="registration")
    return issued_secret


def keep_registered_client(client: Client) -> None:
    """An operator keeps an anonymously registered client: it no longer expires."""
    from .clients import _record_update

    if client.expires_at is not None:
        client.expires_at = None
        _record_update(client, expires_at=None)


def purge_expired_clients(settings, expired_before: dt.datetime) -> int:
    """Anonymously registered clients past their lifetime, deleted with ``delete_client`` (which
    revokes their tokens), a batch at a time."""
    from .clients import delete_client

    count = 0
    while True:
        expired = list(db.session.scalars(db.select(Client).where(
            Client.expires_at.is_not(None), Client.expires_at <= expired_before).order_by(Client.expires_at).limit(200)))
        for client in expired:
            delete_client(client)
        db.session.commit()
        count += len(expired)
        if len(expired) < 200:
            return count


def purge_initial_access_tokens(settings, expired_before: dt.datetime) -> int:
    from .purge import delete_in_batches

    return delete_in_batches(InitialAccessToken.id, InitialAccessToken.expires_at <= expired_before,
                             InitialAccessToken.expires_at)
