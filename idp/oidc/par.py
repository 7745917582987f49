"""Pushed Authorization Requests (RFC 9126).

A client posts its authorization request to ``/par`` (authenticated as at the token endpoint;
a public client names itself with ``client_id``) and gets a ``request_uri``
(``urn:ietf:params:oauth:request_uri:...``, valid ``LIFETIME`` seconds, usable once). It then
sends the browser to ``/authorize?client_id=...&request_uri=...``: the parameters come from the
pushed request only, so nothing in the browser's URL can change them, and the request was
checked (redirect URI, scope, PKCE, syntax) before the user saw anything.

A realm (``require_pushed_authorization_requests``, ``idp realms set --require-par on``) or a
single client (``idp clients set --require-par on``) can require it: ``/authorize`` without a
pushed request then answers ``invalid_request`` at the client's redirect URI.

What a caller can make us store is bounded like an ordinary login's: pushing counts against
the network's budget of new logins, only the known parameters are kept (each under its cap,
``idp.oidc.authorization_parameters``), the request URI is kept as a keyed digest, and rows
expire after a minute and are purged."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request
from flask import Blueprint, g, jsonify, request, url_for
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import csrf, db
from ..models import UTCDateTime, utcnow
from ..security import keyed_digest, random_token
from ..web import load_realm
from . import authorization_parameters as parameters
from . import request_objects
from .client_assertions import JWT_AUTH_METHODS
from .issuer import realm_issuer

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
#: RFC 9126 §2.2: a short lifetime (its example is 60 s); the browser follows at once.
LIFETIME = 60


class PushedAuthorizationRequest(db.Model):
    __tablename__ = "pushed_authorization_requests"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(sa.ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(64))
    request_uri_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    parameters: Mapped[dict] = mapped_column(sa.JSON)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class InvalidRequestUriError(OAuth2Error):
    """RFC 9101 §6.2 / RFC 9126 §4: the ``request_uri`` is unknown, expired, used, or another
    client's."""

    error = "invalid_request_uri"


def is_pushed_request_uri(value) -> bool:
    return isinstance(value, str) and value.startswith(REQUEST_URI_PREFIX)


def required_for(realm, client) -> bool:
    return bool(realm.require_pushed_authorization_requests or client.require_pushed_authorization_requests)


def take_pushed_request(realm, client_id: str, request_uri: str) -> dict:
    """The parameters pushed under ``request_uri`` for ``client_id``, claimed once; raises
    ``InvalidRequestUriError`` otherwise."""
    if len(request_uri) > 200 or not client_id:
        raise InvalidRequestUriError("The request_uri is not valid.")
    row = db.session.scalar(db.select(PushedAuthorizationRequest).filter_by(
        realm_id=realm.id, request_uri_digest=keyed_digest(request_uri)))
    if row is None or row.client_id != client_id:
        raise InvalidRequestUriError("The request_uri is not valid.")
    claimed = db.session.execute(
        db.update(PushedAuthorizationRequest)
        .where(PushedAuthorizationRequest.id == row.id, PushedAuthorizationRequest.used_at.is_(None),
               PushedAuthorizationRequest.expires_at > utcnow())
        .values(used_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed:
        raise InvalidRequestUriError("The request_uri has expired or was already used. Start the login again.")
    return {**row.parameters, "client_id": client_id}


class _PushedRequest(OAuth2Request):
    """The push as Authlib's client authentication reads it: headers, and the form body."""

    def __init__(self, uri: str, params: dict, headers: dict):
        super().__init__("POST", uri, headers=headers)
        self.payload = BasicOAuth2Payload(params)
        self._params = params

    @property
    def form(self):
        return self._params


par_bp = Blueprint("par", __name__, url_prefix="/realms/<realm_name>")


@par_bp.url_value_preprocessor
def _load_realm_or_json_404(endpoint, values):
    from flask import abort
    from werkzeug.exceptions import NotFound

    try:
        load_realm(endpoint, values)
    except NotFound as error:
        response = jsonify(error="not_found", error_description=error.description)
        response.status_code = 404
        abort(response)


def _error(error: OAuth2Error, status: int | None = None):
    response = jsonify(error=error.error, error_description=error.description or error.error)
    response.status_code = status or (error.status_code if error.status_code >= 400 else 400)
    response.headers["Cache-Control"] = "no-store"
    for name, value in error.get_headers():
        if name.lower() in ("www-authenticate", "dpop-nonce", "retry-after"):
            response.headers[name] = value
    return response


@par_bp.post("/par")
@csrf.exempt
def push():
    """RFC 9126 §2: authenticate the client, check the request as ``/authorize`` would, keep it."""
    from ..ratelimit import LoginTransactionLimitExceeded, count_login_transaction
    from .server import authorization_server

    if parameters.request_too_large():
        return _error(InvalidRequestError("The request is too large."), 413)
    repeated = [name for name, values in request.form.lists() if len(values) > 1]
    if repeated:
        return _error(InvalidRequestError(f"The '{repeated[0][:64]}' parameter is repeated."))
    params = request.form.to_dict(flat=True)
    uri = url_for("oidc.authorize", _external=True)
    oauth_request = _PushedRequest(uri, params, dict(request.headers))
    try:
        client = authorization_server.authenticate_client(
            oauth_request, ["client_secret_basic", "client_secret_post", "none", *JWT_AUTH_METHODS], endpoint="par")
    except OAuth2Error as error:
        return _error(error)
    if params.get("client_id", client.client_id) != client.client_id:
        return _error(InvalidRequestError("'client_id' does not match the authenticated client."))
    if "request_uri" in params:
        return _error(InvalidRequestError("'request_uri' cannot be pushed (RFC 9126, section 2.1)."))
    params["client_id"] = client.client_id
    if request_objects.has_request_object(params):
        try:
            params = request_objects.unpack_request_object(authorization_server, uri, params)
        except OAuth2Error as error:
            return _error(error)
    else:
        refused = request_objects.require_request_object_error(client)
        if refused is not None:
            return _error(refused)
    try:
        _bind_to_dpop_key(params)  # after unpacking: a request object's parameters replace the form's
    except OAuth2Error as error:
        return _error(error)
    stored = parameters.parameters_to_store(params)
    checked = authorization_server.authorization_request_from(uri, dict(stored))
    try:
        grant = authorization_server.get_authorization_grant(checked)
        grant.validate_no_multiple_request_parameter(checked)
        grant.validate_authorization_request()
    except OAuth2Error as error:
        return _error(error)
    try:
        count_login_transaction()
    except LoginTransactionLimitExceeded as error:
        response = _error(InvalidRequestError("Too many logins were started from this network; try again later."),
                          429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    request_uri = REQUEST_URI_PREFIX + random_token(32)
    db.session.add(PushedAuthorizationRequest(
        realm_id=g.realm.id, client_id=client.client_id, request_uri_digest=keyed_digest(request_uri),
        parameters=stored, expires_at=utcnow() + dt.timedelta(seconds=LIFETIME)))
    db.session.commit()
    response = jsonify(request_uri=request_uri, expires_in=LIFETIME)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    if "dpop_jkt" in params:
        from . import dpop

        response.headers.update(dpop.response_headers(g.realm))
    return response


def _bind_to_dpop_key(params: dict) -> None:
    """RFC 9449 §10.1: a push with a DPoP proof binds the code to the proof's key, as
    ``dpop_jkt`` would; both given, they must name the same key."""
    from . import dpop

    proof = dpop.token_request_proof(g.realm, request, f"{realm_issuer(g.realm)}/par")
    if proof is None:
        return
    if params.get("dpop_jkt") not in (None, proof.jkt):
        raise dpop.InvalidDPoPProofError("'dpop_jkt' does not match the key of the DPoP proof.")
    params["dpop_jkt"] = proof.jkt


def purge_pushed_requests(settings, expired_before: dt.datetime) -> int:
    from ..services.purge import delete_in_batches

    return delete_in_batches(PushedAuthorizationRequest.id, PushedAuthorizationRequest.expires_at <= expired_before,
                             PushedAuthorizationRequest.expires_at)


def discovery_metadata(realm, issuer: str) -> dict:
    return {"pushed_authorization_request_endpoint": f"{issuer}/par",
            "require_pushed_authorization_requests": bool(realm.require_pushed_authorization_requests)}


def init_app(app) -> None:
    from ..services.purge import Purge, register_purge

    app.register_blueprint(par_bp)
    register_purge(app, Purge("pushed_authorization_requests", purge_pushed_requests))
