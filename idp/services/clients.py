from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from ..extensions import db
from ..models import SUPPORTED_SCOPES, Client, Consent, IssuedToken
from ..security import keyed_digest, random_token
from . import NotFound, ServiceError
from .keys import ID_TOKEN_ALGORITHMS
from .lookup_cache import cached_row

#: RFC 3986 URI-reference: unreserved, reserved and '%' (no space, '"', '<', '>', '\', '^',
#: '`', '{', '|', '}', controls or non-ASCII).
_URI = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


def is_uri_reference(value: str) -> bool:
    """Whether ``value`` holds only the characters of an RFC 3986 URI reference: what a
    registered redirect URI may hold, and what ``/authorize`` accepts in ``redirect_uri``
    (``idp.oidc.authorization_parameters``)."""
    return _URI.fullmatch(value) is not None


#: What a chosen client id may contain: it travels unencoded in Basic auth (no ':') and URLs,
#: and the column holds 64 characters.
CLIENT_ID = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")


def validate_redirect_uri(uri: str) -> str:
    """Absolute URIs without fragments; plain http only for loopback (RFC 8252 §7.3, RFC 9700).
    Only characters an authorization request may carry in ``redirect_uri``, or no request could
    ever name it (``idp.oidc.authorization_parameters``)."""
    uri = (uri or "").strip()
    if not is_uri_reference(uri):
        raise ServiceError(f"redirect URI '{uri}' must be a URI of ASCII characters: percent-encode spaces, "
                           "quotes and other characters (RFC 3986)", field="redirect_uri")
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc and parts.scheme in ("http", "https"):
        raise ServiceError(f"redirect URI '{uri}' must be an absolute URI", field="redirect_uri")
    if parts.fragment or "#" in uri:
        raise ServiceError(f"redirect URI '{uri}' must not contain a fragment", field="redirect_uri")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise ServiceError(
            f"redirect URI '{uri}' must use https (http is allowed only for localhost)",
            field="redirect_uri",
        )
    if parts.scheme in ("javascript", "data", "file", "vbscript"):
        raise ServiceError(f"redirect URI scheme '{parts.scheme}' is not allowed", field="redirect_uri")
    return uri


#: The grants a client may be allowed, by their ``grant_type`` (RFC 6749 §4, §6; RFC 8628): the
#: grant modules registered in ``idp.oidc.grants`` (``tests/oidc/test_grants.py`` keeps the two
#: equal). The management API's schema lists them.
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials",
               "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange")


def check_grant_types(grant_types, *, public: bool, redirect_uris: list[str]) -> list[str]:
    """The grant types a client may hold, in the registry's order, or ``ServiceError``: a list
    of registered grant types (``device_code`` is short for its URN), at least one, each allowed
    by its grant's client rule (``idp.services.grant_types``)."""
    if isinstance(grant_types, str) or not isinstance(grant_types, list | tuple | set):
        raise ServiceError("grant_types must be a list", field="grant_types")
    return checked_grant_types(public=public, redirect_uris=list(redirect_uris or []),
                               grant_types=[str(g) for g in grant_types])


def _default_grant_types(uris: list[str], client_credentials: bool | None) -> list[str]:
    """The grants of a client registered without ``grant_types``: the code grant and refresh
    tokens with redirect URIs; ``client_credentials`` only when asked for."""
    return (["authorization_code", "refresh_token"] if uris else []) + (
        ["client_credentials"] if client_credentials else [])


def validate_home_uri(uri: str) -> str:
    """The app's home page: an absolute https URL (http only on loopback), at most 500
    characters, no fragment, no user name or password in it. It becomes a link on our pages, so
    only web addresses: no custom scheme."""
    uri = (uri or "").strip()
    parts = urlsplit(uri) if is_uri_reference(uri) else None
    loopback = parts is not None and parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts is None or len(uri) > 500 or not parts.netloc or parts.fragment or "#" in uri or \
            parts.username is not None or parts.scheme not in ("https", "http") or \
            (parts.scheme == "http" and not loopback):
        raise ServiceError(f"home URI '{uri[:100]}' must be an https URL of at most 500 characters, without a "
                           "fragment or credentials (http only for localhost)", field="home_uri")
    return uri


def set_home_uri(client: Client, uri: str | None) -> None:
    """Set (or, with None or "", remove) the app's home page."""
    client.home_uri = validate_home_uri(uri) if uri else None


#: A client by its ``client_id``, unique across realms: the realm is compared on the row, never in
#: the statement (why: ``idp.oidc.tokens.in_realm``).
CLIENT_BY_ID = db.select(Client).where(Client.client_id == db.bindparam("client_id"))


def find_client(realm, client_id: str) -> Client | None:
    """The realm's client ``client_id``; its row comes from this process's cache when it has not
    changed since (``idp.services.lookup_cache``)."""
    if not client_id or "\x00" in client_id:
        return None  # PostgreSQL refuses NUL in text: no client has one
    realm_id = realm.id

    def load():
        client = db.session.scalar(CLIENT_BY_ID, {"client_id": client_id})
        return client if client is not None and client.realm_id == realm_id else None

    return cached_row(("client", realm_id, client_id), Client, load)


def get_client(realm, client_id: str) -> Client:
    client = find_client(realm, client_id)
    if client is None:
        raise NotFound(f"client '{client_id}' does not exist in realm '{realm.name}'")
    return client


def list_clients(realm) -> list[Client]:
    return list(db.session.scalars(db.select(Client).filter_by(realm_id=realm.id).order_by(Client.name)))


def create_client(
    realm,
    *,
    name: str,
    redirect_uris: list[str],
    public: bool = False,
    post_logout_redirect_uris: list[str] | None = None,
    first_party: bool = True,
    client_credentials: bool | None = None,
    grant_types: list[str] | None = None,
    id_token_signed_response_alg: str = "RS256",
    client_id: str | None = None,
    logo_uri: str | None = None,
    theme: str | None = None,
    resource_server_for: list[str] | None = None,
    home_uri: str | None = None,
    token_endpoint_auth_method: str | None = None,
    jwks=None,
    jwks_uri: str | None = None,
    require_signed_request_object: bool = False,
    dpop_bound_access_tokens: bool = False,
) -> tuple[Client, str | None]:
    """Register a client; returns it with its one-time plain secret (None for public clients).
    ``grant_types`` are the grants it may use (default: ``authorization_code`` and
    ``refresh_token`` when it has redirect URIs); ``client_credentials=True`` adds that grant and
    ``False`` removes it (the CLI's ``--client-credentials``): a client gets it only when asked.
    ``theme`` overrides the realm's theme on the pages this client's users see;
    ``resource_server_for`` names the clients whose tokens it may introspect;
    ``token_endpoint_auth_method``, ``jwks``/``jwks_uri`` how it authenticates
    (``idp.services.client_authentication``: a private_key_jwt client gets no secret);
    ``dpop_bound_access_tokens`` makes it send DPoP proofs (RFC 9449 §5.2)."""
    from ..themes import theme_exists

    if theme is not None and not theme_exists(theme):
        raise ServiceError(f"theme '{theme}' does not exist", field="theme")
    name = (name or "").strip()
    if not name:
        raise ServiceError("client name is required", field="name")
    if len(name) > 200:
        raise ServiceError("client name must be at most 200 characters", field="name")
    if client_id is not None and not CLIENT_ID.match(client_id):
        raise ServiceError(
            "client id must be 1-64 letters, digits or the characters . _ ~ -", field="client_id"
        )
    uris = [validate_redirect_uri(u) for u in redirect_uris or []]
    logout_uris = [validate_redirect_uri(u) for u in post_logout_redirect_uris or []]
    home_uri = validate_home_uri(home_uri) if home_uri else None
    if id_token_signed_response_alg not in ID_TOKEN_ALGORITHMS:
        raise ServiceError(
            f"id_token_signed_response_alg must be one of {', '.join(ID_TOKEN_ALGORITHMS)}",
            field="id_token_signed_response_alg",
        )
    if grant_types is not None and client_credentials is not None:
        raise ServiceError("give grant_types or client_credentials, not both", field="grant_types")
    if grant_types is None:
        grant_types = _default_grant_types(uris, client_credentials)
    grant_types = check_grant_types(grant_types, public=public, redirect_uris=uris)
    client_id = client_id or secrets.token_hex(12)
    if db.session.scalar(db.select(Client).filter_by(client_id=client_id)) is not None:
        raise ServiceError(f"client id '{client_id}' is taken", field="client_id")
    secret = None if public else random_token(32)
    client = Client(
        realm_id=realm.id,
        client_id=client_id,
        client_secret_digest=keyed_digest(secret) if secret else None,
        name=name,
        public=public,
        first_party=first_party,
        redirect_uris=uris,
        post_logout_redirect_uris=logout_uris,
        grant_types=grant_types,
        scope=" ".join(SUPPORTED_SCOPES),
        id_token_signed_response_alg=id_token_signed_response_alg,
        logo_uri=logo_uri,
        theme=theme,
        home_uri=home_uri,
        dpop_bound_access_tokens=bool(dpop_bound_access_tokens),
    )
    from .client_authentication import configure_client_authentication

    configure_client_authentication(client, token_endpoint_auth_method, jwks=jwks, jwks_uri=jwks_uri, secret=secret)
    if client.token_endpoint_auth_method == "private_key_jwt":
        secret = None
    client.require_signed_request_object = bool(require_signed_request_object)
    db.session.add(client)
    db.session.flush()
    if resource_server_for:
        set_resource_server_for(client, resource_server_for)
    from .audit import record_event

    record_event("client.created", realm=realm, client_id=client.client_id, name=client.name)
    return client, secret


def full_grant_type(name: str) -> str:
    """A registered grant type named in full, or by the last part of its URN (``device_code``)."""
    from .grant_types import registered_grant_types

    name = (name or "").strip()
    known = registered_grant_types()
    if name in known:
        return name
    return next((grant_type for grant_type in known if grant_type.startswith("urn:")
                 and grant_type.rsplit(":", 1)[-1] == name), name)


def checked_grant_types(*, public: bool, redirect_uris: list[str], grant_types: list[str]) -> list[str]:
    """The grant types a client with these properties may hold, in the registry's order, each
    checked against its grant's client rule (``idp.services.grant_types``); a ServiceError on
    ``grant_types`` names the first refusal."""
    from types import SimpleNamespace

    from .grant_types import refusal, registered_grant_types

    wanted = [full_grant_type(g) for g in grant_types if (g or "").strip()]
    if not wanted:
        raise ServiceError("give at least one --redirect-uri or at least one grant type: this client could not get any token",
                           field="redirect_uri" if not redirect_uris else "grant_types")
    candidate = SimpleNamespace(public=public, redirect_uris=redirect_uris, grant_types=wanted)
    known = registered_grant_types()
    for grant_type in sorted(wanted, key=lambda g: g in known):  # unknown ones first
        reason = refusal(candidate, grant_type)
        if reason:
            raise ServiceError(reason, field="grant_types")
    order = list(known)
    return sorted(set(wanted), key=order.index)


def set_client_requires_par(client: Client, required: bool) -> None:
    """Whether ``client`` must push its authorization requests first (RFC 9126)."""
    from .audit import record_event

    if bool(client.require_pushed_authorization_requests) == bool(required):
        return
    client.require_pushed_authorization_requests = bool(required)
    record_event("client.updated", realm=client.realm, client_id=client.client_id,
                 require_pushed_authorization_requests=bool(required))
def set_client_requires_dpop(client: Client, required: bool) -> None:
    """Whether ``client`` must send a DPoP proof with every token request (RFC 9449 §5.2,
    ``dpop_bound_access_tokens``): it then never gets a bearer token."""
    if bool(client.dpop_bound_access_tokens) == bool(required):
        return
    client.dpop_bound_access_tokens = bool(required)
    _record_update(client, dpop_bound_access_tokens=bool(required))


def set_redirect_uris(client: Client, redirect_uris: list[str], post_logout_redirect_uris: list[str]) -> None:
    """Replace the client's redirect URIs (the same rules as at creation). The code grant and
    refresh tokens follow them: on with a first URI, off with none. A client with no redirect
    URI can only use client_credentials."""
    uris = [validate_redirect_uri(u) for u in redirect_uris]
    logout_uris = []
    for uri in post_logout_redirect_uris:
        try:
            logout_uris.append(validate_redirect_uri(uri))
        except ServiceError as error:
            raise ServiceError(error.message.replace("redirect URI", "post-logout redirect URI"),
                               field="post_logout_redirect_uris") from None
    grants = list(client.grant_types or [])
    if uris and "authorization_code" not in grants:
        grants += ["authorization_code", "refresh_token"]
    if not uris:
        grants = [g for g in grants if g != "authorization_code"]
        if not any(g.endswith("device_code") for g in grants):
            grants = [g for g in grants if g != "refresh_token"]
    if not grants:
        raise ServiceError("Give at least one redirect URI: this client has no other way to log users in.",
                           field="redirect_uris")
    grants = check_grant_types(grants, public=client.public, redirect_uris=uris)
    client.redirect_uris = uris
    client.post_logout_redirect_uris = logout_uris
    client.grant_types = grants
    _record_update(client, redirect_uris=uris, post_logout_redirect_uris=logout_uris)


def set_grant_types(client: Client, grant_types: list[str]) -> None:
    """Replace the grants ``client`` may use (``check_grant_types``). Tokens already issued stay
    valid until they expire or are revoked; a client_credentials token ends with the grant."""
    checked = check_grant_types(grant_types, public=client.public, redirect_uris=client.redirect_uris)
    if checked == list(client.grant_types or []):
        return
    client.grant_types = checked
    _record_update(client, grant_types=list(checked))


#: The console's and the CLI's name for it.
set_client_grant_types = set_grant_types


def update_client(client: Client, *, name: str | None = None, redirect_uris: list[str] | None = None,
                  post_logout_redirect_uris: list[str] | None = None, grant_types: list[str] | None = None,
                  resource_server_for: list[str] | None = None,
                  dpop_bound_access_tokens: bool | None = None) -> Client:
    """Change what is given (None keeps a setting): redirect URIs first, then the grant types,
    checked against them. The caller commits, or rolls back on ``ServiceError``."""
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise ServiceError("client name must be 1-200 characters", field="name")
        client.name = name
    if redirect_uris is not None or post_logout_redirect_uris is not None:
        set_redirect_uris(client, client.redirect_uris if redirect_uris is None else redirect_uris,
                          client.post_logout_redirect_uris if post_logout_redirect_uris is None
                          else post_logout_redirect_uris)
    if grant_types is not None:
        set_grant_types(client, grant_types)
    if resource_server_for is not None:
        set_resource_server_for(client, resource_server_for)
    if dpop_bound_access_tokens is not None:
        set_client_requires_dpop(client, dpop_bound_access_tokens)
    return client


def _record_update(client: Client, **changes) -> None:
    from ..models import Realm
    from .audit import record_event

    record_event("client.updated", realm=db.session.get(Realm, client.realm_id), client_id=client.client_id,
                 **changes)


def set_resource_server_for(client: Client, client_ids: list[str]) -> None:
    """Make ``client`` a resource server (an API) of the clients named ``client_ids``, replacing
    the earlier list: it may then introspect their tokens. Every client may introspect its own;
    no other may (RFC 7662 §2.1, §4), so an API that receives an app's tokens is named here.
    Only a confidential client can, since introspection requires client authentication."""
    from .audit import record_event

    wanted = sorted({(client_id or "").strip() for client_id in client_ids} - {""})
    if wanted and client.public:
        raise ServiceError("a public client cannot introspect tokens (it has no secret to authenticate with)",
                           field="resource_server_for")
    served = []
    for client_id in wanted:
        if client_id == client.client_id:
            raise ServiceError("a client may always introspect its own tokens: name other clients",
                               field="resource_server_for")
        other = find_client(client.realm, client_id)
        if other is None:
            raise ServiceError(f"client '{client_id}' does not exist in realm '{client.realm.name}'",
                               field="resource_server_for")
        served.append(other)
    if [c.client_id for c in client.resource_server_for] == wanted:
        return
    client.resource_server_for = served
    record_event("client.updated", realm=client.realm, client_id=client.client_id, resource_server_for=wanted)


def rotate_client_secret(client: Client) -> str:
    from .client_authentication import rotated_secret

    secret = rotated_secret(client)
    from ..models import Realm
    from .audit import record_event

    record_event("client.secret_rotated", realm=db.session.get(Realm, client.realm_id), client_id=client.client_id)
    return secret


def delete_client(client: Client) -> None:
    """The client's tokens end with it: its users' tokens are revoked here, and its
    client_credentials tokens stop introspecting as active once it is gone."""
    from ..models import Realm
    from .audit import record_event
    from .sign_out import revoke_tokens_where

    record_event("client.deleted", realm=db.session.get(Realm, client.realm_id), client_id=client.client_id,
                 name=client.name)
    revoke_tokens_where(IssuedToken.realm_id == client.realm_id, IssuedToken.client_id == client.client_id)
    db.session.execute(
        db.delete(Consent).where(Consent.realm_id == client.realm_id, Consent.client_id == client.client_id))
    db.session.delete(client)
