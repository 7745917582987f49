"""What an authorization request may make us store.

``/authorize`` answers anonymous callers and keeps their request in a login transaction until
the login finishes (on any worker), so what it keeps is bounded three ways:

1. the whole request (query string and form body) is at most ``MAX_REQUEST_BYTES`` (64 KiB);
   a larger one gets a 413 page and is not parsed;
2. each parameter we know has a length cap that no genuine client comes near
   (``PARAMETER_CAPS``). A longer value is refused, never truncated: a cut ``state`` or
   ``nonce`` would fail at the client in a way nobody could explain. Refusals of ``client_id``,
   ``redirect_uri`` and ``response_type`` are an error page, since nothing about the client is
   established yet; the others are an ``invalid_request`` sent back to the validated
   ``redirect_uri`` (RFC 6749 §4.1.2.1) by ``ParameterCaps``, an Authlib grant extension;
3. only the parameters we know are stored (``parameters_to_store``); any other is ignored, as
   OpenID Connect Core §3.1.2.1 asks of unknown parameters.

A new parameter that idp starts to read gets one line in ``PARAMETER_CAPS``."""
from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from flask import request

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


class ParameterCaps:
    """Authlib grant extension: refuse a known parameter over its cap once the client and its
    redirect_uri are validated, so the ``invalid_request`` goes back to the client. Runs before
    Authlib and the other extensions read the payload (scope, PKCE, nonce, prompt)."""

    def __call__(self, grant):
        grant.register_hook("before_validate_authorization_request_payload", self.check)

    @staticmethod
    def check(grant, redirect_uri):
        name = oversized_parameter(grant.request.payload.data)
        if name is not None:
            raise too_long_error(name)
