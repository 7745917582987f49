"""Bearer tokens at the resource endpoints of a realm (userinfo), as RFC 6750 sends them.

Authlib's ``ResourceProtector`` reads the ``Authorization`` header only; this one also takes a
token in a form-encoded POST body (§2.2), refuses a token sent both ways (§2, ``invalid_request``),
and tells a request that carries no bearer token at all (none, or another scheme) from one
whose token is bad: the first gets the bare challenge without an error code (§3.1)."""
from __future__ import annotations

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from flask import request as flask_request

FORM = "application/x-www-form-urlencoded"


class NoBearerToken(OAuth2Error):
    """The request carries no bearer token: answer with the challenge alone (RFC 6750 §3.1)."""

    status_code = 401


class BearerTokenProtector(ResourceProtector):
    def parse_request_authorization(self, request):
        header = flask_request.headers.get("Authorization", "")
        in_body = (flask_request.form.getlist("access_token")
                   if flask_request.method == "POST" and flask_request.mimetype == FORM else [])
        if len(in_body) > 1 or (in_body and header):
            raise InvalidRequestError("Send the access token once: in the Authorization header or in the form body.")
        if in_body:
            return self.get_token_validator("bearer"), in_body[0]
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise NoBearerToken()
        if not token.strip():
            raise InvalidRequestError("The Authorization header names the Bearer scheme but holds no token.")
        return self.get_token_validator("bearer"), token.strip()
