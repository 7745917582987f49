"""The registration endpoint (RFC 7591) and the client configuration endpoint (RFC 7592).

``POST /realms/<realm>/register`` with a JSON body of client metadata and, unless the realm
allows anonymous registration, ``Authorization: Bearer <initial access token>``, answers
``201`` with the client (``client_id``, ``client_secret`` for a confidential client), its
``registration_access_token`` and ``registration_client_uri``. With that token, the app reads
(``GET``), replaces (``PUT``) and deletes (``DELETE``) its registration at
``/realms/<realm>/register/<client_id>``.

Errors are JSON: ``invalid_redirect_uri`` and ``invalid_client_metadata`` (RFC 7591 §3.2.2),
``invalid_request``, and ``401 invalid_token`` with a ``WWW-Authenticate`` challenge for a
missing or wrong token (RFC 6750 §3). The rules live in ``idp.services.client_registration``."""
from __future__ import annotations

import json

from flask import Blueprint, g, jsonify, request

from ..extensions import csrf, db
from ..services import client_registration as registration
from .issuer import realm_issuer

registration_bp = Blueprint("registration", __name__, url_prefix="/realms/<realm_name>")


@registration_bp.url_value_preprocessor
def _load_realm_or_json_404(endpoint, values):
    from flask import abort
    from werkzeug.exceptions import NotFound

    from ..web import load_realm

    try:
        load_realm(endpoint, values)
    except NotFound as error:
        abort(_error("not_found", error.description, 404))


def _error(error: str, description: str, status: int = 400, headers: dict | None = None):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _invalid_token(description: str):
    issuer = realm_issuer(g.realm)
    return _error("invalid_token", description, 401,
                  {"WWW-Authenticate": f'Bearer realm="{issuer}", error="invalid_token"'})


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _json_body():
    request.max_content_length = registration.MAX_METADATA_BYTES
    if (request.content_length or 0) > registration.MAX_METADATA_BYTES:
        raise registration.RegistrationError("invalid_request", "The client metadata is too large.")
    if not request.is_json:
        raise registration.RegistrationError("invalid_request", "Send the client metadata as application/json.")
    text = request.get_data(as_text=True)
    if "\x00" in text or "\\u0000" in text:
        raise registration.RegistrationError("invalid_request", "Text must not contain NUL characters.")
    try:
        return json.loads(text or "null")
    except ValueError:
        raise registration.RegistrationError("invalid_request", "The body is not valid JSON.") from None


def _answer(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _anonymous_limit_reached() -> bool:
    from limits import parse

    from ..ratelimit import client_network, limiter

    if not limiter.enabled:
        return False
    return not limiter.limiter.hit(parse(registration.ANONYMOUS_REGISTRATION_RATE_LIMIT),
                                   "client-registration", client_network())


@registration_bp.post("/register")
@csrf.exempt
def register():
    realm = g.realm
    if not realm.dynamic_client_registration:
        return _error("access_denied", "Dynamic client registration is not enabled in this realm.", 403)
    token = _bearer_token()
    anonymous = token is None
    if anonymous and not realm.anonymous_client_registration:
        return _invalid_token("An initial access token is required to register a client here.")
    try:
        metadata = _json_body()
        if anonymous and _anonymous_limit_reached():
            return _error("slow_down", "Too many clients were registered from this network; try again later.", 429,
                          {"Retry-After": "3600"})
        if not anonymous and not registration.use_initial_access_token(realm, token):
            db.session.rollback()
            return _invalid_token("The initial access token is not valid, has expired or is used up.")
        client, secret, registration_token = registration.register_client(realm, metadata, anonymous=anonymous)
    except registration.RegistrationError as error:
        db.session.rollback()
        return _error(error.error, error.description)
    db.session.commit()
    body = registration.client_metadata(client, realm_issuer(realm))
    if secret:
        body["client_secret"] = secret
    body["registration_access_token"] = registration_token
    return _answer(body, 201)


@registration_bp.route("/register/<client_id>", methods=["GET", "PUT", "DELETE"])
@csrf.exempt
def configure(client_id):
    """RFC 7592. A wrong token and an unknown client get the same ``401``: the answer tells
    nothing about which clients exist."""
    from ..services.clients import delete_client

    realm = g.realm
    client = registration.client_by_registration_token(realm, client_id, _bearer_token() or "")
    if client is None:
        return _invalid_token("The registration access token is not valid for this client.")
    if request.method == "DELETE":
        delete_client(client)
        db.session.commit()
        return "", 204, {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if request.method == "PUT":
        try:
            secret = registration.update_registered_client(client, _json_body())
        except registration.RegistrationError as error:
            db.session.rollback()
            return _error(error.error, error.description)
        db.session.commit()
        if secret:
            return _answer({**registration.client_metadata(client, realm_issuer(realm)), "client_secret": secret}, 200)
    return _answer(registration.client_metadata(client, realm_issuer(realm)), 200)


def discovery_metadata(realm, issuer: str) -> dict:
    return {"registration_endpoint": f"{issuer}/register"} if realm.dynamic_client_registration else {}


def init_app(app) -> None:
    from ..services.purge import Purge, register_purge

    app.register_blueprint(registration_bp)
    register_purge(app, Purge("clients", registration.purge_expired_clients))
    register_purge(app, Purge("initial_access_tokens", registration.purge_initial_access_tokens))
