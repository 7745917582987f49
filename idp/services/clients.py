from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from ..extensions import db
from ..models import Client, Consent, IssuedToken
from ..security import keyed_digest, random_token
from . import NotFound, ServiceError
from .keys import ID_TOKEN_ALGORITHMS

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


def find_client(realm, client_id: str) -> Client | None:
    if not client_id:
        return None
    return db.session.scalar(db.select(Client).filter_by(realm_id=realm.id, client_id=client_id))


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
    id_token_signed_response_alg: str = "RS256",
    client_id: str | None = None,
    logo_uri: str | None = None,
    theme: str | None = None,
    resource_server_for: list[str] | None = None,
    home_uri: str | None = None,
) -> tuple[Client, str | None]:
    """Register a client; returns it with its one-time plain secret (None for public clients).
    ``theme`` overrides the realm's theme on the pages this client's users see;
    ``resource_server_for`` names the clients whose tokens it may introspect."""
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
    grant_types = []
    if uris:
        grant_types += ["authorization_code", "refresh_token"]
    if client_credentials is None:
        client_credentials = not public
    if client_credentials:
        if public:
            raise ServiceError("public clients cannot use client_credentials", field="public")
        grant_types.append("client_credentials")
    if not grant_types:
        raise ServiceError("give at least one --redirect-uri", field="redirect_uri")
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
        scope="openid profile email offline_access",
        id_token_signed_response_alg=id_token_signed_response_alg,
        logo_uri=logo_uri,
        theme=theme,
        home_uri=home_uri,
    )
    db.session.add(client)
    db.session.flush()
    if resource_server_for:
        set_resource_server_for(client, resource_server_for)
    return client, secret


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
    if client.public:
        raise ServiceError("public clients have no secret")
    secret = random_token(32)
    client.client_secret_digest = keyed_digest(secret)
    return secret


def delete_client(client: Client) -> None:
    """The client's tokens end with it: its users' tokens are revoked here, and its
    client_credentials tokens stop introspecting as active once it is gone."""
    from .sign_out import revoke_tokens_where

    revoke_tokens_where(IssuedToken.realm_id == client.realm_id, IssuedToken.client_id == client.client_id)
    db.session.execute(
        db.delete(Consent).where(Consent.realm_id == client.realm_id, Consent.client_id == client.client_id))
    db.session.delete(client)
