"""What the parameters of an authorization request may contain, and which request features
this provider refuses, as two Authlib extensions.

Why a syntax check at all: Authlib writes some request values into its error descriptions
(``The response type '...' is not supported``, ``Redirect URI ... is not supported``), and its
``OAuth2Error`` refuses a description with characters outside RFC 6749's error-description set
(``"``, ``\\``, DEL, anything not ASCII) by raising ``ValueError``: a 500 instead of an error.
So every parameter we act on is held to its specification's syntax before Authlib reads it, and
a malformed one is an ``invalid_request`` like any other.

When the error goes back to the client: ``client_id``, ``redirect_uri``, ``response_type`` and
``state`` are checked before the client and its redirect URI are known to be genuine
(``AuthorizationParameterSyntax``, a server hook), so a malformed one is an error page
(RFC 6749 §4.1.2.1). Everything else is checked once the redirect URI is validated
(``AuthorizationRequestRules``, a grant extension), and its error goes to the client with its
``state``. Parameters this provider does not know are ignored, as RFC 6749 §3.1 requires.

To accept a new parameter, give it a syntax in ``PARAMETER_SYNTAX``; to support a new
``response_mode``, add it to ``RESPONSE_MODES_SUPPORTED`` (discovery publishes that list)."""
from __future__ import annotations

import re
import unicodedata

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc9101.errors import (
    RequestNotSupportedError,
    RequestUriNotSupportedError,
)
from authlib.oidc.core.errors import RegistrationNotSupportedError

#: ``response_mode`` values answered (OAuth 2.0 Multiple Response Type Encoding Practices).
RESPONSE_MODES_SUPPORTED = ("query",)

#: RFC 3986 URI-reference: unreserved, reserved and '%' (no space, '"', '<', '>', '\', '^',
#: '`', '{', '|', '}', controls or non-ASCII).
_URI = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
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


def _text(value: str) -> bool:
    """Free text (OpenID Connect leaves ``nonce`` and ``login_hint`` unconstrained): any Unicode
    but control characters, which no real value holds."""
    return not any(unicodedata.category(ch) == "Cc" for ch in value)


def is_uri_reference(value: str) -> bool:
    """Whether ``value`` holds only the characters of an RFC 3986 URI reference."""
    return _URI.fullmatch(value) is not None


def _matches(pattern: re.Pattern):
    return lambda value: pattern.fullmatch(value) is not None


#: Every parameter this provider reads from an authorization request, with its syntax.
#: ``code_challenge`` and ``code_challenge_method`` are checked by Authlib's PKCE extension.
PARAMETER_SYNTAX = {
    "client_id": _matches(_VSCHARS),
    "redirect_uri": _matches(_URI),
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
    "id_token_hint": _matches(_COMPACT_JWT),
    "nonce": _text,
    "login_hint": _text,
}

#: Checked before the client is known: a malformed one gets an error page, never a redirect.
CHECKED_BEFORE_THE_CLIENT = ("client_id", "redirect_uri", "response_type", "state")

#: OpenID Connect Core §6 and §7.2.1: request objects and dynamic registration at the
#: authorization endpoint are not supported (discovery says so); each has its own error.
UNSUPPORTED_FEATURES = {
    "request": RequestNotSupportedError,
    "request_uri": RequestUriNotSupportedError,
    "registration": RegistrationNotSupportedError,
}


def parse_max_age(value) -> int | None:
    """``max_age`` as seconds, or None when absent or malformed (malformed ones are refused by
    ``AuthorizationRequestRules``). ``str.isdigit`` alone would accept '²', which ``int``
    refuses."""
    if not isinstance(value, str) or not value or _DIGITS.fullmatch(value) is None:
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

    Registered with the code grant:
    ``register_grant(AuthorizationCodeGrant, [..., AuthorizationRequestRules()])``."""

    def __call__(self, grant):
        grant.register_hook("after_validate_authorization_request_payload", self.check)

    def check(self, grant, _result=None):
        payload = grant.request.payload
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
