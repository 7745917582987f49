"""What an authorization request says about the user it expects and the claims it wants
(OpenID Connect Core §3.1.2.1, §5.5):

- ``claims``: a JSON object whose ``userinfo`` and ``id_token`` members name individual claims,
  each ``null`` or ``{"essential": bool, "value": ..., "values": [...]}``. A claim that a scope
  releases (``email`` -> ``email``, ``name`` -> ``profile``) brings its scope into the request,
  so the consent page asks for it and the ID token and userinfo carry it; ``acr`` with
  ``value``/``values`` asks for that authentication level as ``acr_values`` does; ``sub`` with a
  ``value`` names the user expected; ``auth_time`` is always in our ID tokens. Claims we do not
  know are ignored (§5.5: voluntary unless essential, and even then the OP may not have them).
- ``id_token_hint``: an ID token this realm issued to this client (expired ones too, §3.1.2.1).
  Its ``sub`` is the user expected: a browser signed in as someone else logs in again (with the
  hinted user's address filled in), and with ``prompt=none`` gets ``login_required``.
- ``login_hint`` fills in the email field of the login page (``idp.login.views``).

``max_age`` is in ``idp.oidc.views``: a session older than it logs in again."""
from __future__ import annotations

import json
import warnings

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from flask import current_app

#: The claims ``claims_supported`` lists that a scope releases, and that scope.
CLAIM_SCOPES = {"name": "profile", "preferred_username": "profile", "email": "email", "email_verified": "email"}
MEMBERS = ("userinfo", "id_token")
MAX_CLAIMS_LENGTH = 4096


def parse_claims_request(value) -> dict | None:
    """The ``claims`` parameter as a dict, or None when absent; ``InvalidRequestError`` when it
    is not a JSON object of the shape §5.5 gives."""
    if value is None or value == "":
        return None
    try:
        claims = json.loads(value)
    except (TypeError, ValueError):
        raise InvalidRequestError("'claims' is not valid JSON.") from None
    if not isinstance(claims, dict):
        raise InvalidRequestError("'claims' must be a JSON object.")
    for member, requested in claims.items():
        if member not in MEMBERS:
            continue  # other members are for extensions we do not implement
        if not isinstance(requested, dict):
            raise InvalidRequestError(f"'claims.{member}' must be a JSON object.")
        for name, request in requested.items():
            if request is None:
                continue
            if not isinstance(request, dict):
                raise InvalidRequestError(f"'claims.{member}.{name[:64]}' must be null or an object.")
            if "essential" in request and not isinstance(request["essential"], bool):
                raise InvalidRequestError(f"'claims.{member}.{name[:64]}.essential' must be true or false.")
            if "values" in request and not isinstance(request["values"], list):
                raise InvalidRequestError(f"'claims.{member}.{name[:64]}.values' must be an array.")
    return claims


def requested_claims(claims: dict | None) -> dict[str, dict]:
    """Every claim named in either member, with its request (``{}`` for null)."""
    named: dict[str, dict] = {}
    for member in MEMBERS:
        for name, request in ((claims or {}).get(member) or {}).items():
            named.setdefault(name, {}).update(request or {})
    return named


def apply_claims_request(params: dict, claims: dict | None) -> dict:
    """``params`` with the scopes the requested claims need and the ``acr`` values they ask for."""
    named = requested_claims(claims)
    if not named:
        return params
    params = dict(params)
    scopes = (params.get("scope") or "").split()
    for name in named:
        scope = CLAIM_SCOPES.get(name)
        if scope and scope not in scopes:
            scopes.append(scope)
    params["scope"] = " ".join(scopes)
    acr = named.get("acr") or {}
    values = acr.get("values") if isinstance(acr.get("values"), list) else \
        [acr["value"]] if isinstance(acr.get("value"), str) else []
    values = [v for v in values if isinstance(v, str) and v]
    if values and not params.get("acr_values"):
        params["acr_values"] = " ".join(values)[:1024]
    return params


def expected_subject(claims: dict | None) -> str | None:
    sub = requested_claims(claims).get("sub") or {}
    return sub.get("value") if isinstance(sub.get("value"), str) else None


def id_token_hint_subject(realm, client, hint: str | None) -> str | None:
    """The ``sub`` of ``hint`` when it is an ID token this realm signed for ``client``;
    ``InvalidRequestError`` otherwise. Expired hints are accepted, as the spec allows."""
    from joserfc.errors import JoseError

    from ..services.keys import ID_TOKEN_ALGORITHMS, verify_jwt
    from .issuer import realm_issuer

    if not hint:
        return None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="EdDSA is deprecated")
            token = verify_jwt(realm, current_app.extensions["idp.settings"], hint, algorithms=ID_TOKEN_ALGORITHMS)
    except (JoseError, ValueError):
        raise InvalidRequestError("'id_token_hint' is not an ID token issued by this realm.") from None
    claims = token.claims
    audience = claims.get("aud")
    audience = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if token.header.get("typ") == "at+jwt" or claims.get("iss") != realm_issuer(realm) or \
            client.get_client_id() not in audience or not isinstance(claims.get("sub"), str):
        raise InvalidRequestError("'id_token_hint' is not an ID token issued by this realm to this client.")
    return claims["sub"]
