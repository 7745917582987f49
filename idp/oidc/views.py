"""Protocol endpoints, one realm at a time: /realms/<realm>/..."""
from __future__ import annotations

import time

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from authlib.oidc.core.errors import ConsentRequiredError, InteractionRequiredError, LoginRequiredError
from flask import Blueprint, g, jsonify, make_response, request, url_for

from ..database import read_only_request
from ..extensions import csrf, db
from ..i18n import _
from ..login import flow
from ..login.sessions import current_browser_session
from ..login.stages import ACCESS_DENIED, CONSENT_REQUIRED, LOGIN_REQUIRED
from ..ratelimit import LoginTransactionLimitExceeded
from ..web import add_realm_name, load_realm, render_error
from . import authorization_hints as hints
from . import authorization_parameters as parameters
from . import dpop, par, request_objects
from .bearer import BearerTokenProtector, NoBearerToken
from .claims import user_claims
from .issuer import realm_issuer
from .server import active_access_token, authorization_server

oidc_bp = Blueprint("oidc", __name__, url_prefix="/realms/<realm_name>")
oidc_bp.url_value_preprocessor(load_realm)
oidc_bp.url_defaults(add_realm_name)


class RealmBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return active_access_token(g.realm, token_string)


require_oauth = BearerTokenProtector()
require_oauth.register_token_validator(RealmBearerTokenValidator())


#: The endpoints browser apps may call from another origin, and the methods they take there.
CORS_ENDPOINTS = {"oidc.token": "POST", "oidc.revoke": "POST", "oidc.introspect": "POST",
                  "oidc.userinfo": "GET, POST"}


def _registered_origin(origin: str) -> bool:
    """Browser apps may call the token, revocation, introspection and userinfo endpoints from the
    origin of one of the realm's registered redirect URIs (as Keycloak's "web origins" derive
    from them); any other origin gets no CORS header, so the browser keeps the answer from it."""
    from urllib.parse import urlsplit

    from ..models import Client

    for uris in db.session.scalars(db.select(Client.redirect_uris).filter_by(realm_id=g.realm.id)):
        for uri in uris or []:
            parts = urlsplit(uri)
            if f"{parts.scheme}://{parts.netloc}" == origin:
                return True
    return False


@oidc_bp.after_request
def cors_for_browser_apps(response):
    methods = CORS_ENDPOINTS.get(request.endpoint)
    if methods is None:
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if origin and g.get("realm") is not None and _registered_origin(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = f"{methods}, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, DPoP"
        response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate, DPoP-Nonce"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def _json(data, status=200):
    response = jsonify(data)
    response.status_code = status
    return response


def authorization_error(error: OAuth2Error):
    """Errors go back to the client only once its redirect_uri is validated (RFC 6749 §4.1.2.1),
    with its ``state`` unless that is what was refused for its length."""
    if not parameters.within_cap("state", error.state):
        error.state = None
    if error.redirect_uri:
        response = authorization_server.handle_error_response(None, error)
        response.location = _with_issuer(response.location)
        return response
    return render_error(
        400,
        _("We cannot start this login"),
        error.description or error.error,
        client=_requesting_client(),
    )


def _requesting_client():
    """The registered client named by the request's ``client_id``, if there is one."""
    from ..services.clients import find_client

    client_id = request.values.get("client_id")
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        return None
    return find_client(g.realm, client_id)


def _with_issuer(location):
    from authlib.common.urls import add_params_to_uri

    return add_params_to_uri(location, {"iss": realm_issuer(g.realm)}) if location else location


@oidc_bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    realm = g.realm
    if parameters.request_too_large():
        return render_error(413, _("This login request is too large"),
                            _("The application sent more than a login request may hold. Go back to the "
                              "application and try again."))
    session = current_browser_session(realm)
    params = request.values.to_dict(flat=True)
    pushed = par.is_pushed_request_uri(params.get("request_uri"))
    if pushed:
        try:
            params = par.take_pushed_request(realm, params.get("client_id") or "", params["request_uri"])
        except par.InvalidRequestUriError:
            return render_error(400, _("This login link has expired"),
                                _("Go back to the application and start the login again."))
    signed = not pushed and request_objects.has_request_object(params)
    if signed:
        try:
            params = request_objects.unpack_request_object(
                authorization_server, url_for("oidc.authorize", _external=True), params)
        except OAuth2Error as error:
            return authorization_error(error)
    oversized = parameters.oversized_parameter(params, parameters.ROUTING_PARAMETERS)
    if oversized is not None:
        return authorization_error(parameters.too_long_error(oversized))
    prompts = (params.get("prompt") or "").split()
    force_login = "login" in prompts
    max_age = parameters.parse_max_age(params.get("max_age"))
    if max_age is not None and session is not None and time.time() - session.auth_time > max_age:
        force_login = True
    user = None if (session is None or force_login) else session.user
    try:
        grant = _consent_grant(params, user) if pushed or signed else \
            authorization_server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return authorization_error(error)
    if not (pushed or signed):
        refused = request_objects.require_request_object_error(grant.client, params.get("state"), grant.redirect_uri)
        if refused is not None:
            return authorization_error(refused)
    if not pushed and par.required_for(realm, grant.client):
        return authorization_error(InvalidRequestError(
            "This client must push its authorization requests first (RFC 9126): use the "
            "pushed_authorization_request_endpoint.", redirect_uri=grant.redirect_uri, state=params.get("state")))
    silent = "none" in prompts
    try:
        claims_request = hints.parse_claims_request(params.get("claims"))
        expected = hints.id_token_hint_subject(realm, grant.client, params.get("id_token_hint")) or \
            hints.expected_subject(claims_request)
    except OAuth2Error as error:
        error.redirect_uri, error.state = grant.redirect_uri, params.get("state")
        return authorization_error(error)
    params = hints.apply_claims_request(params, claims_request)
    if expected is not None and session is not None and session.user_id != expected:
        if silent:
            error = LoginRequiredError(redirect_uri=grant.redirect_uri)
            error.state = params.get("state")
            return authorization_error(error)
        force_login = True
        if not params.get("login_hint"):
            params = {**params, "login_hint": _email_of(realm, expected)}
    try:
        return flow.begin_login(realm, grant.client, parameters.parameters_to_store(params),
                                browser_session=None if force_login else session, interactive=not silent)
    except LoginTransactionLimitExceeded:
        if not silent or not grant.redirect_uri:
            raise
        return authorization_error(TemporarilyUnavailableError(
            "Too many logins were started from this network; try again later.",
            redirect_uri=grant.redirect_uri, state=params.get("state")))
    except flow.InteractionNeeded as needed:
        error = PROMPT_NONE_ERRORS.get(needed.prompt.error, InteractionRequiredError)(redirect_uri=grant.redirect_uri)
        error.state = params.get("state")
        return authorization_error(error)


def _email_of(realm, user_id: str) -> str | None:
    """The address to fill in on the login page for the user an ``id_token_hint`` names."""
    from ..models import User

    user = db.session.get(User, user_id) if len(user_id) <= 64 else None
    return user.email if user is not None and user.realm_id == realm.id else None


def _consent_grant(params: dict, end_user):
    """``get_consent_grant`` for parameters that come from a pushed request, not the URL."""
    oauth_request = authorization_server.authorization_request_from(url_for("oidc.authorize", _external=True), params)
    try:
        oauth_request.user = end_user
        grant = authorization_server.get_authorization_grant(oauth_request)
        grant.validate_no_multiple_request_parameter(oauth_request)
        grant.validate_consent_request()
    except OAuth2Error as error:
        error.state = params.get("state")
        raise
    return grant


class TemporarilyUnavailableError(OAuth2Error):
    """RFC 6749 §4.1.2.1: the server cannot handle the request now (here: too many logins were
    started from the caller's network)."""

    error = "temporarily_unavailable"


#: A login stage's ``Prompt.error`` -> what ``prompt=none`` answers (OIDC Core 3.1.2.6).
PROMPT_NONE_ERRORS = {LOGIN_REQUIRED: LoginRequiredError, CONSENT_REQUIRED: ConsentRequiredError,
                      ACCESS_DENIED: AccessDeniedError}


@oidc_bp.post("/token")
@csrf.exempt
def token():
    response = authorization_server.create_token_response()
    response.headers["Cache-Control"] = "no-store"
    return response


@oidc_bp.post("/revoke")
@csrf.exempt
def revoke():
    return authorization_server.create_endpoint_response("revocation")


@oidc_bp.post("/introspect")
@csrf.exempt
def introspect():
    if not dpop.proof_headers(request.headers):
        read_only_request()
    response = authorization_server.create_endpoint_response("introspection")
    if dpop.proof_headers(request.headers):
        response.headers.update(dpop.response_headers(g.realm))
    return response


def _bearer_error(error: OAuth2Error):
    """RFC 6750 §3: the error's status, JSON body and ``WWW-Authenticate`` challenge. Built here
    rather than raised (as ``require_oauth`` does) because the app's HTTPException handler
    re-renders raised errors and would drop the challenge and the error code."""
    response = _json(dict(error.get_body()), error.status_code)
    for name, value in error.get_headers():
        response.headers[name] = value
    response.headers.setdefault("WWW-Authenticate", f'Bearer error="{error.error}"')
    return response


def _dpop_error(error: OAuth2Error):
    """RFC 9449 §7.1: a refused DPoP request gets a ``DPoP`` challenge naming the error and the
    accepted algorithms (and a fresh nonce when nonces are on)."""
    status = 401 if error.error in ("invalid_token", "invalid_dpop_proof", "use_dpop_nonce") else error.status_code
    response = _json(dict(error.get_body()), status)
    response.headers["WWW-Authenticate"] = dpop.challenge(error)
    response.headers.update(dpop.response_headers(g.realm))
    return response


@oidc_bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    """Bearer tokens (RFC 6750) and DPoP-bound ones with their proof (``Authorization: DPoP``,
    RFC 9449 §7); a DPoP-bound token sent as a bearer token is refused."""
    scheme, _, presented = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "dpop":
        try:
            row = dpop.bound_access_token(g.realm, presented.strip(), method=request.method,
                                          url=f"{realm_issuer(g.realm)}/userinfo", headers=request.headers,
                                          scope="openid")
        except OAuth2Error as error:
            return _dpop_error(error)
        response = _json(user_claims(row.user, row.scope, organization_id=row.organization_id))
        response.headers.update(dpop.response_headers(g.realm))
        return response
    read_only_request()
    try:
        row = require_oauth.acquire_token(["openid"])
    except NoBearerToken:
        response = make_response("", 401)
        response.headers["WWW-Authenticate"] = f'Bearer realm="{realm_issuer(g.realm)}"'
        response.headers.add("WWW-Authenticate", dpop.challenge())
        return response
    except OAuth2Error as error:
        return _bearer_error(error)
    if row.user is None or row.user.disabled:
        return _bearer_error(InvalidTokenError(realm=realm_issuer(g.realm)))
    if row.dpop_jkt:
        return _dpop_error(InvalidTokenError("This access token is bound to a DPoP key: send it with the DPoP "
                                             "scheme and a proof."))
    return _json(user_claims(row.user, row.scope, organization_id=row.organization_id))


@oidc_bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def logout():
    """RP-initiated logout. With a session in this browser and no ``id_token_hint`` of that very
    session, the user confirms first (or cancels, back to the app's home page or their account).
    With no session there is nothing to end and nothing to ask: a registered
    ``post_logout_redirect_uri`` is followed (with ``state``), else the page says so."""
    from ..login.forms import ConfirmForm
    from ..themes import render_page

    try:
        end_session_request = authorization_server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return render_error(400, _("We cannot log you out from here"), error.description or error.error,
                            client=_requesting_client())
    signed_in = current_browser_session(g.realm) is not None
    if signed_in and end_session_request.needs_confirmation:
        form = ConfirmForm()
        if request.method != "POST" or not form.validate_on_submit():
            client = end_session_request.client
            return render_page(
                "logout_confirm.html",
                realm=g.realm,
                client=client,
                form=form,
                action_url=request.full_path if request.query_string else request.path,
                cancel_url=getattr(client, "home_uri", None) or url_for("account.home"),
                page_title=_("Log out"),
            )
    response = authorization_server.create_endpoint_response("end_session", end_session_request)
    if response is not None:
        return response
    return render_page("logged_out.html", realm=g.realm, client=end_session_request.client,
                       page_title=_("Logged out") if signed_in else _("Signed out"), was_signed_in=signed_in,
                       home_url=getattr(end_session_request.client, "home_uri", None) or None,
                       account_url=url_for("account.home"))
