"""Who may call which API route, decided before the view runs.

Routes need an API key (``Authorization: Bearer idpk_...``): none or an unknown, revoked or
expired one is 401 with ``WWW-Authenticate: Bearer``; a realm key used in another realm is 403,
whether or not the named realm exists, so a key learns nothing about other realms. The key is
checked before the realm is looked up for the same reason. A server-level key works in every
realm but ``admin``, the console's own (its administrators are managed with ``idp admins``).

Then the key's scopes (``services.api_keys.SCOPES``): each route needs one, found by
``required_scope`` from the route's path and method, so that no route can be added without
one; a key without it gets 403 ``insufficient_scope`` (RFC 6750 §3.1) naming the scope.

Routes marked ``public`` (the login sessions a browser calls through idp.js, and the OpenAPI
document) need no key. Browsers may call the session routes from the origins of the realm's
registered redirect URIs (CORS, without cookies)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, request

from ..services.api_keys import authenticate_api_key, key_allows
from ..services.realms import ADMIN_REALM, find_realm
from .errors import ApiError, not_found
from .parameters import path_text

CORS_MAX_AGE = 600


def public(view):
    """Mark a view as callable without an API key."""
    view.public_api = True
    return view


def cors(view):
    """Mark a public view as callable by browsers from the realm's registered origins."""
    view.cors = True
    return view


#: The scopes of the routes under each path segment: (to read, to change). The last static
#: segment of a route's path that is named here decides (``/users/{id}/sessions`` is
#: ``sessions``, ``/users/{id}/credentials`` is ``users``). Reading is GET; anything else changes.
ROUTE_SCOPES = {
    "realms": ("realms:read", "realms:admin"),
    "settings": ("realms:read", "realms:admin"),
    "sms_integrations": ("realms:read", "realms:admin"),
    "users": ("users:read", "users:write"),
    "sessions": ("users:read", "sessions:write"),
    "clients": ("clients:read", "clients:write"),
    "initial_access_tokens": ("clients:read", "clients:write"),
    "providers": ("providers:read", "providers:write"),
    "api_keys": ("api_keys:admin", "api_keys:admin"),
    "audit_events": ("audit:read", "audit:read"),
    "webhooks": ("webhooks:read", "webhooks:admin"),
    "organizations": ("orgs:read", "orgs:write"),
    "roles": ("roles:read", "roles:write"),
}


def required_scope(path: str, method: str) -> str | None:
    """The scope a key needs to call ``method`` on the route ``path`` (a Flask rule such as
    ``/api/v1/realms/<realm_name>/users`` or an OpenAPI path with ``{realm_name}``); None for a
    route no scope covers, which no key may call."""
    segments = [part for part in path.split("/") if part and part[0] not in "<{"]
    for segment in reversed(segments):
        if segment in ROUTE_SCOPES:
            read, change = ROUTE_SCOPES[segment]
            return read if method.upper() in ("GET", "HEAD") else change
    return None


def _view():
    return current_app.view_functions.get(request.endpoint)


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _unauthorized(description: str, *, invalid: bool) -> ApiError:
    challenge = 'Bearer realm="idp"' + (', error="invalid_token"' if invalid else "")
    return ApiError(401, "invalid_token" if invalid else "unauthorized", description,
                    headers={"WWW-Authenticate": challenge})


def _authenticate(realm_name: str | None, *, scope_needed: bool) -> None:
    secret = _bearer_token()
    if secret is None:
        raise _unauthorized("Send an API key as 'Authorization: Bearer <key>'.", invalid=False)
    key = authenticate_api_key(secret) if path_text(secret, 200) else None
    if key is None:
        raise _unauthorized("The API key is not valid, was revoked or has expired.", invalid=True)
    if realm_name is not None and (key.realm.name != realm_name if not key.server_level
                                   else realm_name == ADMIN_REALM):
        raise ApiError(403, "forbidden", "This API key cannot be used in that realm.")
    if scope_needed:
        scope = required_scope(request.url_rule.rule, request.method)
        if scope is None:
            raise ApiError(403, "forbidden", "No API key may call this route.")
        if not key_allows(key, scope):
            raise ApiError(403, "insufficient_scope", f"This API key does not have the scope {scope}.",
                           scope=scope, headers={"WWW-Authenticate": f'Bearer realm="idp", '
                                                                     f'error="insufficient_scope", scope="{scope}"'})
    g.api_key = key


def load_api_realm(endpoint, values):
    """url_value_preprocessor: check the API key and its scope (unless the route is public),
    then ``realm_name`` -> ``g.realm`` or 404."""
    g.realm = None
    g.api_key = None
    name = (values or {}).pop("realm_name", None)
    view = _view()
    public_route = getattr(view, "public_api", False)
    if request.method == "OPTIONS" or request.url_rule is None:
        pass
    elif not public_route or (name is not None and _bearer_token() is not None):
        _authenticate(name, scope_needed=not public_route)
    if name is None:
        return
    realm = find_realm(name) if path_text(name, 64) else None
    if realm is None:
        raise not_found(f"There is no realm named '{name[:64]}'.")
    g.realm = realm


def add_realm_name(endpoint, values):
    if "realm_name" not in values and g.get("realm") is not None:
        values["realm_name"] = g.realm.name


def _origin(uri: str) -> str | None:
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _allowed_origin(realm, origin: str) -> bool:
    from ..services.clients import list_clients

    origin = origin.lower()
    return any(_origin(uri) == origin for client in list_clients(realm) for uri in client.redirect_uris or [])


def api_response_headers(response):
    """after_request: nothing the API answers is cached; CORS for the browser-facing routes."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    view = _view()
    if not getattr(view, "cors", False):
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    realm = g.get("realm")
    if origin and realm is not None and _allowed_origin(realm, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "POST"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE)
    return response
