"""Who may call which API route, decided before the view runs.

Realm routes need a realm API key (``Authorization: Bearer idpk_...``): none or an unknown or
revoked one is 401 with ``WWW-Authenticate: Bearer``; a key of another realm is 403, whether or
not the named realm exists, so a key learns nothing about other realms. The key is checked
before the realm is looked up for the same reason.

Routes marked ``public`` (the login sessions a browser calls through idp.js, and the OpenAPI
document) need no key. Browsers may call the session routes from the origins of the realm's
registered redirect URIs (CORS, without cookies)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, request

from ..services.realms import find_realm
from .api_keys import authenticate_api_key
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


def _authenticate(realm_name: str) -> None:
    secret = _bearer_token()
    if secret is None:
        raise _unauthorized("Send a realm API key as 'Authorization: Bearer <key>'.", invalid=False)
    key = authenticate_api_key(secret) if path_text(secret, 200) else None
    if key is None:
        raise _unauthorized("The API key is not valid or was revoked.", invalid=True)
    if key.realm.name != realm_name:
        raise ApiError(403, "forbidden", "This API key cannot be used in that realm.")
    g.api_key = key


def load_api_realm(endpoint, values):
    """url_value_preprocessor: check the API key (unless the route is public), then
    ``realm_name`` -> ``g.realm`` or 404."""
    g.realm = None
    if values is None or "realm_name" not in values:
        return
    name = values.pop("realm_name")
    view = _view()
    if request.method == "OPTIONS":
        pass
    elif not getattr(view, "public_api", False) or _bearer_token() is not None:
        _authenticate(name)
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
