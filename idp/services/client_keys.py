"""Clients' public keys (RFC 7591 §2 ``jwks`` / ``jwks_uri``): what may be registered, and the
key set a client's JWTs (client assertions, request objects) are checked against.

A key set registered inline is kept on the client. One published at a ``jwks_uri`` is fetched
by the provider under the outbound rules (``idp.outbound``: a public address unless
``client_keys.allow_private_jwks_uri``, https unless ``client_keys.allow_http_jwks_uri``, a time
limit, at most ``client_keys.max_jwks_bytes``), and kept in this process as long as its
``Cache-Control: max-age`` says, within ``min_cache_seconds`` and ``max_cache_seconds``. A JWT
naming a ``kid`` the kept set does not have (the client rotated its keys) makes it fetch again,
at most once per ``refetch_interval_seconds`` per URL, so a stream of made-up key ids cannot
turn the provider into a fetching machine. A fetch that failed is likewise not tried again for
``refetch_interval_seconds`` (its reason is answered meanwhile): anyone may send an assertion
naming a client, and a failing or slow jwks_uri must not cost a fetch per request."""
from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from werkzeug.http import parse_cache_control_header

from .. import outbound
from . import ServiceError

#: Algorithms a client may sign its JWTs with, by its keys (RFC 7518, RFC 8037); HS256 with its
#: secret for client_secret_jwt. What discovery lists, and what a JWT is checked with.
KEY_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
SECRET_ALGORITHMS = ("HS256",)
MAX_KEYS = 20
MAX_INLINE_JWKS_BYTES = 65536
MAX_JWKS_URI_LENGTH = 2000
#: Members that only a private or symmetric key has: never registered, never published.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_KEY_TYPES = ("RSA", "EC", "OKP")
#: Key sets kept at most in this process, oldest fetched first out.
MAX_CACHED_SETS = 1024
#: When the answer carries no usable ``max-age`` (then bounded as any other).
DEFAULT_CACHE_SECONDS = 300


class ClientKeysUnavailable(Exception):
    """The client's keys cannot be had (its jwks_uri refused, failing or malformed); the
    message says why, for the client's developer."""


def parse_jwks(value, *, field: str = "jwks") -> KeySet:
    """The public key set in ``value`` (a dict or JSON text), or ``ServiceError``: 1 to
    ``MAX_KEYS`` RSA, EC or OKP signing keys with no private part."""
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_INLINE_JWKS_BYTES:
            raise ServiceError(f"the key set is larger than {MAX_INLINE_JWKS_BYTES} bytes", field=field)
        try:
            value = json.loads(value)
        except ValueError:
            raise ServiceError("the key set is not JSON", field=field) from None
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list) or not value["keys"]:
        raise ServiceError('a key set is a JSON object {"keys": [...]} with at least one key', field=field)
    keys = value["keys"]
    if len(keys) > MAX_KEYS:
        raise ServiceError(f"a key set holds at most {MAX_KEYS} keys", field=field)
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in _KEY_TYPES:
            raise ServiceError(f"each key must be an RSA, EC or OKP public key (kty {', '.join(_KEY_TYPES)})",
                               field=field)
        if any(member in key for member in _PRIVATE_MEMBERS):
            raise ServiceError("the key set holds a private key: register only the public keys", field=field)
        if key.get("use", "sig") != "sig":
            raise ServiceError("the keys must be signing keys (use 'sig')", field=field)
    try:
        return KeySet.import_key_set(value)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise ServiceError(f"the key set cannot be read: {error}"[:200], field=field) from None


def check_jwks(value) -> dict:
    """The key set to store: only the public members of each key."""
    key_set = parse_jwks(value)
    return {"keys": [key.as_dict(private=False) for key in key_set.keys]}


def check_jwks_uri(uri: str) -> str:
    """An absolute https URL (http only when ``client_keys.allow_http_jwks_uri``) without
    credentials or fragment; a literal non-public address or ``localhost`` only when
    ``client_keys.allow_private_jwks_uri``. Names are resolved at each fetch, not here."""
    settings = current_app.extensions["idp.settings"].client_keys
    uri = (uri or "").strip()
    if not uri or len(uri) > MAX_JWKS_URI_LENGTH or any(ord(ch) < 33 or ord(ch) == 127 for ch in uri):
        raise ServiceError(f"jwks_uri must be a URL of at most {MAX_JWKS_URI_LENGTH} characters", field="jwks_uri")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise ServiceError("jwks_uri is not a valid URL", field="jwks_uri") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ServiceError("jwks_uri must start with https://", field="jwks_uri")
    if parts.scheme == "http" and not settings.allow_http_jwks_uri:
        raise ServiceError("jwks_uri must use https:// (client_keys.allow_http_jwks_uri is off)", field="jwks_uri")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ServiceError("jwks_uri may not contain credentials or a #fragment", field="jwks_uri")
    if not settings.allow_private_jwks_uri:
        host = parts.hostname.rstrip(".").lower()
        address = outbound.literal_address(host)
        if host == "localhost" or host.endswith(".localhost") or (
                address is not None and not outbound.address_allowed(address, allow_private=False)):
            raise ServiceError("jwks_uri points at a non-public address "
                               "(client_keys.allow_private_jwks_uri is off)", field="jwks_uri")
    return uri


@dataclass
class _Fetched:
    key_set: KeySet
    fetched_at: float
    expires_at: float


_fetched: OrderedDict[str, _Fetched] = OrderedDict()
#: URL -> (when a fetch of it last failed, why), kept like ``_fetched``.
_failed: OrderedDict[str, tuple[float, str]] = OrderedDict()
_lock = threading.Lock()


def forget_jwks_uri(uri: str | None) -> None:
    """Drop this process's copy of the key set at ``uri`` (its client changed)."""
    with _lock:
        _fetched.pop(uri or "", None)
        _failed.pop(uri or "", None)


def _cache_seconds(headers: dict, settings) -> float:
    control = parse_cache_control_header(headers.get("Cache-Control") or headers.get("cache-control"))
    if control.no_store or control.no_cache:
        seconds = 0
    elif control.max_age is not None:
        seconds = control.max_age
    else:
        seconds = DEFAULT_CACHE_SECONDS
    return float(min(max(seconds, settings.min_cache_seconds), settings.max_cache_seconds))


def _fetch(uri: str) -> _Fetched:
    settings = current_app.extensions["idp.settings"].client_keys
    with _lock:
        failure = _failed.get(uri)
    if failure is not None and time.monotonic() - failure[0] < settings.refetch_interval_seconds:
        raise ClientKeysUnavailable(failure[1])
    try:
        return _fetch_now(uri, settings)
    except ClientKeysUnavailable as error:
        with _lock:
            _failed[uri] = (time.monotonic(), str(error))
            _failed.move_to_end(uri)
            while len(_failed) > MAX_CACHED_SETS:
                _failed.popitem(last=False)
        raise


def _fetch_now(uri: str, settings) -> _Fetched:
    try:
        answer = outbound.get(uri, allow_private=settings.allow_private_jwks_uri,
                              allow_http=settings.allow_http_jwks_uri, timeout=settings.fetch_timeout_seconds,
                              max_bytes=settings.max_jwks_bytes, setting="client_keys.allow_private_jwks_uri",
                              headers={"Accept": "application/jwk-set+json, application/json"})
    except (outbound.TargetRefused, outbound.FetchFailed) as error:
        raise ClientKeysUnavailable(f"the client's jwks_uri cannot be fetched: {error}") from None
    try:
        key_set = parse_jwks(answer.body.decode("utf-8"))
    except (ServiceError, UnicodeError) as error:
        raise ClientKeysUnavailable(f"the client's jwks_uri holds no usable key set: {error}") from None
    now = time.monotonic()
    fetched = _Fetched(key_set, now, now + _cache_seconds(answer.headers, settings))
    with _lock:
        _failed.pop(uri, None)
        _fetched[uri] = fetched
        _fetched.move_to_end(uri)
        while len(_fetched) > MAX_CACHED_SETS:
            _fetched.popitem(last=False)
    return fetched


def _has_kid(key_set: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in key_set.keys)


def client_key_set(client, kid: str | None = None) -> KeySet:
    """The public keys ``client`` signs with, or ``ClientKeysUnavailable``. With ``kid``, a
    kept copy of a ``jwks_uri`` that lacks it is fetched again (at most once per
    ``refetch_interval_seconds``)."""
    if client.jwks:
        try:
            return parse_jwks(client.jwks)
        except ServiceError as error:
            raise ClientKeysUnavailable(error.message) from None
    if not client.jwks_uri:
        raise ClientKeysUnavailable("the client has registered no keys (jwks or jwks_uri)")
    settings = current_app.extensions["idp.settings"].client_keys
    now = time.monotonic()
    fetched = _fetched.get(client.jwks_uri)
    if fetched is None or fetched.expires_at <= now or kid and not _has_kid(fetched.key_set, kid) and now - fetched.fetched_at >= settings.refetch_interval_seconds:
        fetched = _fetch(client.jwks_uri)
    return fetched.key_set
