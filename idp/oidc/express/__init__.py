"""Express lanes: the hot machine-to-machine requests answered before Flask.

Resource servers and machine clients call the token endpoint (client credentials), userinfo and
introspection far more often than people log in, and for those requests Flask's routing, request
context and hooks cost more than the work itself (issue 17's profile). A lane is one module here
that takes one kind of request, in the one shape it fully understands, and runs the *same*
service code Flask's view would run (the same Authlib server, grants and endpoints, the same
lookups and claims) inside a bare app context. Anything else goes to Flask unchanged:

- a request the lane does not recognise (another method, a query string, a body that is not a
  small urlencoded form, a repeated or unknown parameter, a ``DPoP`` proof, an ``Origin`` (CORS),
  a NUL byte, a host that is not the public URL's, an unknown realm);
- a lane that declines (returns ``None``), e.g. userinfo for a token it would refuse: Flask
  builds the refusal with its challenge headers;
- a lane that raises: its transaction is rolled back and Flask starts the request over (except
  a refresh that fails after its token was rotated, which the token lane answers itself: started
  over, it would look like a reuse and end the family; see ``token.py``).

Realms and clients in a lane are for reading (``lookup_cache.attached``): a change made to one
there is not saved. So a lane can only answer what Flask would have answered the same way; ``tests/oidc/
test_express_lanes.py`` sends each request through both and compares the answers.

Active only when ``server.public_url`` is set (as ``CachedDocumentsMiddleware``): the issuer then
does not depend on the request. ``server.express_lanes = false`` turns them off.

A new lane is one module with ``PATH`` (the part after ``/realms/<realm>/``), ``METHODS`` and
``answer(request) -> ExpressAnswer | None`` (``answer.py``), plus its line in ``LANES``."""
from __future__ import annotations

import io
import logging

from flask import g
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from ...extensions import db
from ...services.realms import find_realm
from ..issuer import realm_issuer
from . import introspection, token, userinfo
from .answer import ExpressAnswer
from .prepared import PreparedAnswers
from .request import ExpressRequest, read_express_request

log = logging.getLogger(__name__)

#: The lanes, by the path under ``/realms/<realm>/`` they take.
LANES = {lane.PATH: lane for lane in (token, userinfo, introspection)}

#: Host values whose check is remembered, at most: a request may send any ``Host``.
MAX_REMEMBERED_HOSTS = 64

#: Headers every lane's answer carries: a JSON document no browser should frame, sniff, cache or
#: leak a referrer from (what ``idp.web.security_headers`` gives the same answer from Flask).
JSON_ANSWER_HEADERS = (
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Vary", "Origin"),
)


class ExpressLanes:
    """WSGI middleware in front of Flask (inside any ``ProxyFix``, so it sees the scheme and host
    the proxy vouched for)."""

    def __init__(self, app, wsgi_app, *, trusted_hosts: list[str]):
        self.app = app
        self.wsgi_app = wsgi_app
        self.trusted_hosts = trusted_hosts
        self.prepared = PreparedAnswers(app)
        #: Whether Werkzeug's host check passes, by the environ values it reads (a few at most: the
        #: public URL's host; any other is Flask's, which refuses it).
        self._host_trusted: dict[tuple, bool] = {}

    def __call__(self, environ, start_response):
        lane, realm_name = self._lane_for(environ)
        if lane is None:
            return self.wsgi_app(environ, start_response)
        request = read_express_request(environ, lane.METHODS)
        # Over plain HTTP off loopback Authlib refuses every OAuth request: Flask answers that
        # refusal (``idp.web``), not a lane that would log it as a failure.
        answerable = request is not None and request.transport_allowed()
        response = None
        if answerable:
            if lane is token:
                response = self._prepared_answer(request)
            if response is None:
                response = self._answer(lane, realm_name, request)
        if response is None:
            if request is not None:
                environ["wsgi.input"] = io.BytesIO(request.body)  # Flask reads the body again
                environ["CONTENT_LENGTH"] = str(len(request.body))
            return self.wsgi_app(environ, start_response)
        return response(environ, start_response)

    def _lane_for(self, environ):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/realms/") or environ.get("QUERY_STRING"):
            return None, None
        realm_name, _, rest = path[len("/realms/"):].partition("/")
        lane = LANES.get(rest)
        if lane is None or environ.get("REQUEST_METHOD") not in lane.METHODS:
            return None, None
        if not realm_name or len(realm_name) > 64 or "\x00" in realm_name or "%" in realm_name:
            return None, None
        if not self._trusted_host(environ):
            return None, None
        return lane, realm_name

    def _trusted_host(self, environ) -> bool:
        key = (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
               environ.get("SERVER_PORT"))
        trusted = self._host_trusted.get(key)
        if trusted is None:
            try:
                get_host(environ, self.trusted_hosts)
                trusted = True
            except SecurityError:
                trusted = False
            if len(self._host_trusted) >= MAX_REMEMBERED_HOSTS:
                self._host_trusted.clear()
            self._host_trusted[key] = trusted
        return trusted

    def _prepared_answer(self, request: ExpressRequest):
        try:
            return self.prepared.answer(request)
        except Exception:  # noqa: BLE001 - the lane answers it the long way
            log.warning("express lane: a prepared answer failed; the lane answers", exc_info=True)
            return None

    def _answer(self, lane, realm_name: str, request: ExpressRequest):
        # before the realm, client and key are read; only the token lane keeps prepared answers
        generation = self.prepared.generation() if lane is token else None
        with self.app.app_context():
            g.express_request = request
            try:
                realm = find_realm(realm_name)
                if realm is None:
                    return None
                g.realm = realm
                response = lane.answer(request)
                if response is not None and not isinstance(response, ExpressAnswer):
                    raise TypeError(f"a lane answers with an ExpressAnswer, not {type(response).__name__}")
            except Exception:  # noqa: BLE001 - Flask starts over and reports it its own way
                log.warning("express lane %s failed; Flask takes the request", lane.PATH, exc_info=True)
                response = None
            if response is None:
                try:
                    db.session.rollback()
                except Exception:  # noqa: BLE001 - a broken connection: Flask answers (503)
                    log.debug("express lane: the rollback failed", exc_info=True)
                return None
            present = response.header_names()
            extra = [(name, value) for name, value in JSON_ANSWER_HEADERS if name.lower() not in present]
            if request.secure and "strict-transport-security" not in present:
                extra.append(("Strict-Transport-Security", "max-age=31536000"))
            response.add_headers(extra)
            if response.repeatable is not None:
                self.prepared.keep(request, response, generation=generation,
                                   token_url=f"{realm_issuer(g.realm)}/token")
            purge = self.app.extensions.get("idp.periodic_purge")
            if purge is not None:
                purge.after_request(response)
            return response


def serve_express_lanes(app) -> None:
    settings = app.extensions["idp.settings"]
    if settings.server.public_url and settings.server.express_lanes:
        app.wsgi_app = ExpressLanes(app, app.wsgi_app, trusted_hosts=app.config["TRUSTED_HOSTS"])
