"""What a lane knows of its request, read straight from the WSGI environ."""
from __future__ import annotations

import base64
import binascii
import functools
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request

#: Larger bodies go to Flask (which has its own limit): a lane's forms are a few hundred bytes.
MAX_BODY = 8192
FORM_TYPE = "application/x-www-form-urlencoded"
#: Headers that make a request one for Flask: a DPoP proof (RFC 9449), a browser's cross-origin
#: call (CORS), a multi-part or chunked body.
FLASK_ONLY_HEADERS = ("HTTP_DPOP", "HTTP_ORIGIN", "HTTP_TRANSFER_ENCODING")


@dataclass
class ExpressRequest:
    method: str
    url: str
    headers: RequestHeaders
    body: bytes
    form: dict[str, str] = field(default_factory=dict)
    secure: bool = False
    #: For audit events (``idp.events.record_event``), as Flask's request would give them.
    remote_addr: str | None = None
    user_agent: str = ""

    def transport_allowed(self) -> bool:
        """Whether Authlib's transport check passes this request (HTTPS, or a loopback or
        ``AUTHLIB_INSECURE_TRANSPORT`` exception): ``ExpressOAuth2Request`` raises
        ``InsecureTransportError`` where it does not."""
        scheme, _, rest = self.url.partition("://")
        origin = f"{scheme}://{rest.partition('/')[0]}"
        return _secure_transport(origin, bool(os.environ.get("AUTHLIB_INSECURE_TRANSPORT")))

    def oauth2_request(self) -> OAuth2Request:
        """The request as Authlib's server and endpoints take it (``RealmAuthorizationServer``
        uses a request built in memory as it is)."""
        return ExpressOAuth2Request(self)

    def bearer_token(self) -> str | None:
        """The token of an ``Authorization: Bearer`` header in its plain form, else None."""
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value or " " in value:
            return None
        return value


class RequestHeaders(Mapping):
    """The request's headers, read from the environ when asked, with the reading methods of
    Werkzeug's (``get``, ``getlist``, ``[]``, ``in``) that Authlib and idp call; any case of a
    name. A lane asks for a few headers by name, so none is copied: the environ a server builds
    holds the process's whole environment besides (granian's does), and copying the headers out
    of it was a twentieth of an introspection request. Werkzeug's own environ view raises and
    catches an exception for each header it does not find, a dozen per request."""

    __slots__ = ("_environ", "_all")

    def __init__(self, environ):
        self._environ = environ
        self._all: dict[str, str] | None = None

    def get(self, name: str, default=None):
        if not isinstance(name, str):
            return default
        key = _environ_key(name)
        value = self._environ.get(key)
        if value is None or (not value and key in _CONTENT_KEYS):
            return default
        return value

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name) -> bool:
        return self.get(name) is not None

    def getlist(self, name: str) -> list[str]:
        value = self.get(name)
        return [] if value is None else [value]

    def _every(self) -> dict[str, str]:
        """Every header by lower-case name (for iterating, which no lane does on its hot path)."""
        if self._all is None:
            self._all = {}
            for key, value in self._environ.items():
                if key.startswith("HTTP_"):
                    self._all[key[5:].replace("_", "-").lower()] = value
                elif key in _CONTENT_KEYS and value:
                    self._all[key.replace("_", "-").lower()] = value
        return self._all

    def __iter__(self):
        return iter(self._every())

    def __len__(self) -> int:
        return len(self._every())


_CONTENT_KEYS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})


@functools.lru_cache(maxsize=256)
def _environ_key(name: str) -> str:
    """A header name as code spells it (names come from code, not requests), as its environ key."""
    key = name.upper().replace("-", "_")
    return key if key in _CONTENT_KEYS else "HTTP_" + key


#: A URL Authlib's transport check passes at once (``ExpressOAuth2Request``).
_CHECKED_ORIGIN = "https://origin.invalid/"


@functools.lru_cache(maxsize=64)
def _secure_transport(origin: str, _insecure_transport_allowed: bool) -> bool:
    """Authlib's check of a request's origin (the setting that turns it off is part of the key)."""
    return is_secure_transport(origin + "/")


class ExpressOAuth2Request(OAuth2Request):
    def __init__(self, request: ExpressRequest):
        if not request.transport_allowed():
            raise InsecureTransportError()
        # Authlib's initialisation, its transport check made above once per origin: the check
        # parses the host as an IP address on every request (a thirtieth of a
        # client_credentials request over plain HTTP on loopback)
        super().__init__(request.method, _CHECKED_ORIGIN, headers=request.headers)
        self.uri = request.url
        self._form = request.form
        self.payload = BasicOAuth2Payload(request.form)

    @property
    def args(self):
        return {}

    @property
    def form(self):
        return self._form


def read_express_request(environ, methods) -> ExpressRequest | None:
    """The request, or None for one a lane does not take (see ``idp.oidc.express``). A body is
    read only when it is a small urlencoded form with a length; the caller hands the bytes back to
    Flask when no lane answers."""
    if any(environ.get(name) for name in FLASK_ONLY_HEADERS):
        return None
    headers = RequestHeaders(environ)
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if "\x00" in authorization or "\x00" in _basic_credentials(authorization):
        return None
    body = b""
    form: dict[str, str] = {}
    length = environ.get("CONTENT_LENGTH") or ""
    if length not in ("", "0"):
        if not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY:
            return None
        if (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower() != FORM_TYPE:
            return None
        body = environ["wsgi.input"].read(int(length))
        form = _form(body)
        if form is None:
            return _declined(environ, body)
    elif environ.get("REQUEST_METHOD") == "POST":
        return None
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    return ExpressRequest(
        method=environ["REQUEST_METHOD"],
        url=f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}",
        headers=headers,
        body=body,
        form=form,
        secure=scheme == "https",
        remote_addr=environ.get("REMOTE_ADDR"),
        user_agent=environ.get("HTTP_USER_AGENT", ""),
    )


def _form(body: bytes) -> dict[str, str] | None:
    """The form's fields, or None when a lane should not judge it: not UTF-8, a repeated field,
    a NUL character (Flask answers each of these with its own error)."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    form = dict(pairs)
    if len(form) != len(pairs) or any("\x00" in key or "\x00" in value for key, value in pairs):
        return None
    return form


def _basic_credentials(authorization: str) -> str:
    """The decoded ``Basic`` credentials ("" for any other header): a NUL in them is Flask's to
    refuse (``idp.web.holds_nul_byte``)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(value.strip()).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def _declined(environ, body: bytes) -> None:
    """A body was read but the request is Flask's: put the bytes back where Flask reads them."""
    environ["wsgi.input"] = io.BytesIO(body)
    return None
