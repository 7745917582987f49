"""What an authorization request may contain, what it may make us store, and which request
features this provider refuses.

``/authorize`` answers anonymous callers and keeps their request in a login transaction until
the login finishes (on any worker), and Authlib writes some request values into its error
descriptions, whose character set its ``OAuth2Error`` enforces by raising (a 500 instead of an
error). So every parameter we read has a syntax (``PARAMETER_SYNTAX``) and a length cap
(``PARAMETER_CAPS``), and the request is bounded three ways:

1. the whole request (query string and form body) is at most ``MAX_REQUEST_BYTES`` (64 KiB);
   a larger one gets a 413 page and is not parsed;
2. each parameter we know must match its specification's syntax and stay under a cap that no
   genuine client comes near. A longer value is refused, never truncated: a cut ``state`` or
   ``nonce`` would fail at the client in a way nobody could explain. ``client_id``,
   ``redirect_uri``, ``response_type`` and ``state`` are checked before the client and its
   redirect URI are known to be genuine (``AuthorizationParameterSyntax``, a server hook, and
   the view for the caps), so a malformed one is an error page (RFC 6749 §4.1.2.1). Everything
   else is checked once the redirect URI is validated and before Authlib reads the payload
   (``AuthorizationRequestRules``), and its error goes to the client;
3. only the parameters we know are stored (``parameters_to_store``); any other is ignored, as
   RFC 6749 §3.1 and OpenID Connect Core §3.1.2.1 ask of unknown parameters.

A new parameter that idp starts to read gets one line in ``PARAMETER_SYNTAX`` and one in
``PARAMETER_CAPS``; to support a new ``response_mode``, add it to ``RESPONSE_MODES_SUPPORTED``
(discovery publishes that list)."""

from __future__ import annotations

import re
import unicodedata

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc9101.errors import (
    RequestNotSupportedError,
    RequestUriNotSupportedError,
)
from authlib.oidc.core.errors import RegistrationNotSupportedError
from flask import request

from ..services.clients import is_uri_reference

MAX_REQUEST_BYTES = 64 * 1024

#: Every authorization-request parameter idp or Authlib reads (OpenID Connect Core §3.1.2.1,
#: RFC 7636), with the longest value accepted, in characters.
PARAMETER_CAPS: dict[str, int] = {
    "response_type": 64,
    "client_id": 255,
    "redirect_uri": 2048,
    "scope": 1024,
    "state": 2048,
    "nonce": 2048,
    "code_challenge": 128,  # RFC 7636 §4.2: 43 to 128 characters
    "code_challenge_method": 16,
    "response_mode": 32,
    "prompt": 64,
    "max_age": 10,  # digits: over 300 years in seconds
    "acr_values": 1024,
    "login_hint": 512,
    "id_token_hint": 4096,
    "ui_locales": 256,
    "claims_locales": 256,
    "display": 16,
    "organization": 64,  # an organization's name or id (idp.organizations)
    "dpop_jkt": 64,  # RFC 9449 §10: a base64url SHA-256 thumbprint (43 characters)
    "claims": 4096,
}

#: Checked before Authlib routes the request: while any of these is in doubt there is no
#: client whose redirect_uri could be trusted with the error.
ROUTING_PARAMETERS = ("client_id", "redirect_uri", "response_type")


def request_too_large() -> bool:
    """Whether the authorization request is over ``MAX_REQUEST_BYTES``. Also caps what Werkzeug
    will read of a body sent without a ``Content-Length`` (it answers 413 past the cap)."""
    query = len(request.query_string)
    if request.method == "POST":
        request.max_content_length = max(0, MAX_REQUEST_BYTES - query)
    return query + (request.content_length or 0) > MAX_REQUEST_BYTES


def oversized_parameter(params: dict, names=None) -> str | None:
    """The first of ``names`` (default: every known parameter) whose value is over its cap."""
    for name in names or PARAMETER_CAPS:
        value = params.get(name)
        if isinstance(value, str) and len(value) > PARAMETER_CAPS[name]:
            return name
    return None


def too_long_error(name: str, **kwargs) -> InvalidRequestError:
    return InvalidRequestError(f"'{name}' is longer than {PARAMETER_CAPS[name]} characters.", **kwargs)


def within_cap(name: str, value) -> bool:
    return not isinstance(value, str) or len(value) <= PARAMETER_CAPS[name]


def parameters_to_store(params: dict) -> dict:
    """The known parameters of ``params``, as given: what a login transaction keeps."""
    return {name: params[name] for name in PARAMETER_CAPS if isinstance(params.get(name), str)}


#: ``response_mode`` values answered (OAuth 2.0 Multiple Response Type Encoding Practices).
RESPONSE_MODES_SUPPORTED = ("query",)

#: RFC 6749 Appendix A.1 and A.5 (client_id, state): VSCHAR, printable ASCII.
_VSCHARS = re.compile(r"[\x20-\x7e]*")
#: RFC 6749 Appendix A.3: response-name *( SP response-name ), names of ALPHA / DIGIT / "_".
_RESPONSE_TYPE = re.compile(r"(?:[A-Za-z0-9_]+(?: [A-Za-z0-9_]+)*)?")
#: RFC 6749 Appendix A.4 (scope): NQCHAR tokens separated by spaces; the same for the other
#: space-separated lists of ASCII strings of OpenID Connect (prompt, acr_values, ui_locales...).
_ASCII_TOKENS = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
#: A compact JWS (id_token_hint): base64url segments and dots.
_COMPACT_JWT = re.compile(r"[A-Za-z0-9_\-.]*")
_DIGITS = re.compile(r"[0-9]*")
_BASE64URL = re.compile(r"[A-Za-z0-9_\-]+")


def _text(value: str) -> bool:
    """Free text (OpenID Connect leaves ``nonce`` and ``login_hint`` unconstrained): any Unicode
    but control characters, which no real value holds."""
    return not any(unicodedata.category(ch) == "Cc" for ch in value)


def _matches(pattern: re.Pattern):
    return lambda value: pattern.fullmatch(value) is not None


#: Every parameter this provider reads from an authorization request, with its syntax.
#: ``code_challenge`` and ``code_challenge_method`` are checked by Authlib's PKCE extension (and
#: capped in ``PARAMETER_CAPS``).
PARAMETER_SYNTAX = {
    "client_id": _matches(_VSCHARS),
    "redirect_uri": is_uri_reference,
    "response_type": _matches(_RESPONSE_TYPE),
    "state": _matches(_VSCHARS),
    "scope": _matches(_ASCII_TOKENS),
    "response_mode": _matches(_ASCII_TOKENS),
    "prompt": _matches(_ASCII_TOKENS),
    "display": _matches(_ASCII_TOKENS),
    "acr_values": _matches(_ASCII_TOKENS),
    "ui_locales": _matches(_ASCII_TOKENS),
    "claims_locales": _matches(_ASCII_TOKENS),
    "max_age": _matches(_DIGITS),
    "dpop_jkt": _matches(_BASE64URL),
    "id_token_hint": _matches(_COMPACT_JWT),
    "nonce": _text,
    "login_hint": _text,
    "organization": _matches(_VSCHARS),
    "claims": _text,
}

#: Checked before the client is known: a malformed one gets an error page, never a redirect.
CHECKED_BEFORE_THE_CLIENT = ("client_id", "redirect_uri", "response_type", "state")

#: OpenID Connect Core §6 and §7.2.1: ``request_uri`` values other than this provider's pushed
#: requests and dynamic registration at the authorization endpoint are not supported (discovery
#: says so); each has its own error. A ``request`` object is unpacked before the request gets
#: here (``idp.oidc.request_objects``), so one still here is one inside a request object.
UNSUPPORTED_FEATURES = {
    "request": RequestNotSupportedError,
    "request_uri": RequestUriNotSupportedError,
    "registration": RegistrationNotSupportedError,
}


def parse_max_age(value) -> int | None:
    """``max_age`` as seconds, or None when absent or malformed (malformed ones are refused by
    ``AuthorizationRequestRules``). ``str.isdigit`` alone would accept '²', which ``int``
    refuses, and thousands of digits are past what ``int`` will parse."""
    if not isinstance(value, str) or not value or _DIGITS.fullmatch(value) is None or not within_cap("max_age", value):
        return None
    return int(value)


def malformed_parameter(payload, names) -> str | None:
    """The first of ``names`` that is repeated or breaks its syntax in the request, or None."""
    for name in names:
        values = payload.datalist.get(name) or []
        if len(values) > 1 or any(not isinstance(v, str) or not PARAMETER_SYNTAX[name](v) for v in values):
            return name
    return None


class AuthorizationParameterSyntax:
    """Server extension: the parameters that decide whether (and where) the client may be
    answered are well-formed before Authlib looks the client up.

    Registered with ``server.register_extension(AuthorizationParameterSyntax())``."""

    def __call__(self, server):
        server.register_hook("before_get_authorization_grant", self.check)

    def check(self, server, request):
        name = malformed_parameter(request.payload, CHECKED_BEFORE_THE_CLIENT)
        if name is not None:
            raise InvalidRequestError(f"The '{name}' parameter is repeated or malformed.")


class AuthorizationRequestRules:
    """Grant extension: once the redirect URI is validated, the other parameters are checked and
    unsupported features refused, with the error sent back to the client (RFC 6749 §4.1.2.1).
    Runs before Authlib and the other extensions read the payload: OpenID Connect's nonce
    check queries the database with the nonce, which must not hold a NUL (PostgreSQL refuses
    it) or anything else malformed.

    Registered with the code grant:
    ``register_grant(AuthorizationCodeGrant, [..., AuthorizationRequestRules()])``."""

    def __call__(self, grant):
        grant.register_hook("before_validate_authorization_request_payload", self.check)

    def check(self, grant, _redirect_uri=None):
        payload = grant.request.payload
        oversized = oversized_parameter(payload.data)
        if oversized is not None:
            raise too_long_error(oversized)
        for parameter, error in UNSUPPORTED_FEATURES.items():
            if parameter in payload.data:
                raise error()
        others = [name for name in PARAMETER_SYNTAX if name not in CHECKED_BEFORE_THE_CLIENT]
        name = malformed_parameter(payload, others)
        if name is not None:
            raise InvalidRequestError(f"The '{name}' parameter is repeated or malformed.")
        response_mode = payload.data.get("response_mode")
        if response_mode and response_mode not in RESPONSE_MODES_SUPPORTED:
            raise InvalidRequestError(
                f"Unsupported 'response_mode': use one of {', '.join(RESPONSE_MODES_SUPPORTED)}.")
