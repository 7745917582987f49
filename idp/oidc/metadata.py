"""The realm's public documents: discovery (``/.well-known/openid-configuration``) and JWKS.

Both are requested far more often than they change, so each is built once per realm and served
from memory with an ``ETag`` (a matching ``If-None-Match`` gets a 304) and
``Cache-Control: public, max-age=300``; a request that finds its document ready touches no
database. A document is rebuilt when this process rotates the realm's keys
(``forget_realm_documents``), and otherwise at most ``REBUILD_AFTER`` seconds after it was built,
which is how a rotation by another worker or machine, a retired key passing its horizon, or a
deleted realm reach this process. Relying parties may cache the same documents for 300 s, and
look the JWKS up again when they meet an unknown ``kid``.

Signing and verification do not use these documents: they read the keys through
``idp.services.lookup_cache``, which every key change invalidates at once in every process."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, request
from werkzeug.exceptions import SecurityError
from werkzeug.http import parse_etags
from werkzeug.wsgi import get_host

from ..i18n import SUPPORTED_LOCALES
from ..login.acr import ACR_VALUES_SUPPORTED
from ..models import SUPPORTED_SCOPES
from .claims import AUTHORIZATION_CLAIMS
from ..services.keys import ID_TOKEN_ALGORITHMS, jwks_document
from .authorization_parameters import RESPONSE_MODES_SUPPORTED
from .dpop import ALGORITHMS as DPOP_ALGORITHMS
from .issuer import public_base_url

#: A document is rebuilt after any change to realms, clients or keys (the lookup cache's
#: generation moves, on every process: ``idp.services.lookup_cache``), and at the latest after
#: this many seconds: a retired key leaves the JWKS when its last tokens have expired, a time and
#: not a change; a minute late is harmless.
REBUILD_AFTER = 60.0
MAX_AGE = 300
#: Documents kept at most; the oldest built goes first. Keys hold the public address, which
#: without ``server.public_url`` is the request's (loopback) host and port: never unbounded.
MAX_DOCUMENTS = 256

metadata_bp = Blueprint("oidc_metadata", __name__, url_prefix="/realms/<realm_name>")


@dataclass(frozen=True)
class Document:
    body: bytes
    etag: str
    built_at: float
    #: The lookup cache's generation when the build began (None: caches off, never reused).
    generation: int | None = None

    def is_current(self, generation: int | None) -> bool:
        return (self.generation is not None and self.generation == generation
                and time.monotonic() - self.built_at <= REBUILD_AFTER)


_documents: OrderedDict[tuple, Document] = OrderedDict()
_lock = threading.Lock()


def _key(kind: str, realm_name: str) -> tuple:
    """Documents differ per database (tests run many instances in one process), realm and public
    address (the issuer is the request's host when ``server.public_url`` is unset, and then only
    loopback names are trusted hosts: ``idp.public_address``)."""
    return current_app.config["SQLALCHEMY_DATABASE_URI"], realm_name, kind, public_base_url()


def _keep(key: tuple, document: Document) -> None:
    with _lock:
        _documents[key] = document
        _documents.move_to_end(key)
        while len(_documents) > MAX_DOCUMENTS:
            _documents.popitem(last=False)


def _in_order(values) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def discovery_metadata(realm) -> dict:
    """The realm's OpenID Provider metadata. What depends on the grants (grant types, response
    types, token endpoint authentication methods, a grant's own endpoints) is derived from
    those registered (``idp.oidc.grants``), so discovery lists exactly what works."""
    from .grants import registered_grants
    from .issuer import realm_issuer
    from .server import RealmIntrospectionEndpoint, RealmRevocationEndpoint

    issuer = realm_issuer(realm)
    grants = registered_grants()
    metadata = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "end_session_endpoint": f"{issuer}/logout",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": sorted(_in_order(t for spec in grants for t in spec.response_types)),
        "response_modes_supported": list(RESPONSE_MODES_SUPPORTED),
        "grant_types_supported": [spec.grant_type for spec in grants],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGORITHMS),
        "token_endpoint_auth_methods_supported": _in_order(
            method for spec in grants for method in spec.token_endpoint_auth_methods),
        "revocation_endpoint_auth_methods_supported": list(RealmRevocationEndpoint.CLIENT_AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(RealmIntrospectionEndpoint.CLIENT_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
            "name", "preferred_username", "email", "email_verified", *AUTHORIZATION_CLAIMS,
        ],
        "acr_values_supported": ACR_VALUES_SUPPORTED,
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": True,
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": list(SUPPORTED_LOCALES),
    }
    for spec in grants:
        metadata.update(spec.metadata(issuer))
    from . import par, request_objects
    from .client_assertions import discovery_metadata as client_authentication_metadata

    metadata.update(par.discovery_metadata(realm, issuer))
    metadata.update(client_authentication_metadata())
    metadata.update(request_objects.discovery_metadata())
    from . import registration

    metadata.update(registration.discovery_metadata(realm, issuer))
    return metadata


def _build(kind: str, realm_name: str) -> dict:
    from ..extensions import db
    from ..services.realms import find_realm

    try:
        realm = find_realm(realm_name) if len(realm_name) <= 64 else None
        if realm is None:
            abort(404, description=f"There is no realm named '{realm_name}'.")
        if kind == "discovery":
            return discovery_metadata(realm)
        return jwks_document(realm, current_app.extensions["idp.settings"])
    finally:
        db.session.rollback()


def _generation() -> int | None:
    from ..services.lookup_cache import lookup_cache

    cache = lookup_cache()
    return cache.current_generation() if cache is not None else None


def realm_document(kind: str, realm_name: str) -> Document:
    key = _key(kind, realm_name)
    document = _documents.get(key)
    generation = _generation()
    if document is None or not document.is_current(generation):
        body = json.dumps(_build(kind, realm_name), separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if document is not None and document.etag == etag:
            body = document.body
        document = Document(body, etag, time.monotonic(), generation)
        _keep(key, document)
    return document


def _respond(kind: str, realm_name: str):
    document = realm_document(kind, realm_name)
    headers = {
        "ETag": document.etag,
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "Access-Control-Allow-Origin": "*",
    }
    if request.if_none_match.contains(document.etag.strip('"')):
        return current_app.response_class(status=304, headers=headers)
    return current_app.response_class(document.body, mimetype="application/json", headers=headers)


@metadata_bp.get("/.well-known/openid-configuration")
def discovery(realm_name):
    return _respond("discovery", realm_name)


@metadata_bp.get("/jwks")
def jwks(realm_name):
    return _respond("jwks", realm_name)


DOCUMENT_PATHS = {".well-known/openid-configuration": "discovery", "jwks": "jwks"}
DOCUMENT_SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


class CachedDocumentsMiddleware:
    """Answers ``GET``/``HEAD`` of a realm's discovery and JWKS documents from this process's
    cache before Flask sees the request: those two are what relying parties and resource
    servers poll, and Flask's routing and hooks cost more than the answer itself.

    Only documents that the Flask view built and that are still current (nothing watched by the
    lookup cache changed since, and younger than ``REBUILD_AFTER``) are served here; anything else (a first request, a stale document, an unknown realm, a query
    string, a host that is not the public URL's) goes on to Flask, which rebuilds, answers 404
    or refuses the host with a 400. Active only when ``server.public_url`` is set, so the issuer
    in the cache does not depend on the request."""

    def __init__(self, wsgi_app, *, database_uri: str, public_url: str, trusted_hosts: list[str], lookup_cache):
        self.wsgi_app = wsgi_app
        self.lookup_cache = lookup_cache
        self.database_uri = database_uri
        self.base_url = public_url.rstrip("/")
        self.trusted_hosts = trusted_hosts

    def __call__(self, environ, start_response):
        document = self._fresh_document(environ)
        if document is None:
            return self.wsgi_app(environ, start_response)
        headers = [
            ("ETag", document.etag),
            ("Cache-Control", f"public, max-age={MAX_AGE}"),
            ("Access-Control-Allow-Origin", "*"),
            *DOCUMENT_SECURITY_HEADERS,
        ]
        if environ.get("wsgi.url_scheme") == "https":
            headers.append(("Strict-Transport-Security", "max-age=31536000"))
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and parse_etags(if_none_match).contains(document.etag.strip('"')):
            start_response("304 NOT MODIFIED", headers)
            return []
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(document.body)))]
        start_response("200 OK", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [document.body]

    def _fresh_document(self, environ) -> Document | None:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
            return None
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/realms/"):
            return None
        realm_name, _, rest = path[len("/realms/"):].partition("/")
        kind = DOCUMENT_PATHS.get(rest)
        if kind is None:
            return None
        try:
            get_host(environ, self.trusted_hosts)
        except SecurityError:
            return None
        document = _documents.get((self.database_uri, realm_name, kind, self.base_url))
        if document is None or not document.is_current(self.lookup_cache.current_generation()):
            return None
        return document


def serve_cached_documents(app) -> None:
    public_url = app.extensions["idp.settings"].server.public_url
    if public_url:
        app.wsgi_app = CachedDocumentsMiddleware(
            app.wsgi_app, database_uri=app.config["SQLALCHEMY_DATABASE_URI"], public_url=public_url,
            trusted_hosts=app.config["TRUSTED_HOSTS"], lookup_cache=app.extensions["idp.lookup_cache"],
        )
