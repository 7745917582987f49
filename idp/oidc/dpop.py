"""DPoP: sender-constrained tokens (RFC 9449).

A client that holds a key pair sends, with each request to the token endpoint (and to userinfo
and introspection), a ``DPoP`` header: a JWT of ``typ`` ``dpop+jwt`` that it signed with its
private key, carrying its public key in the ``jwk`` header and, in its claims, the request's
method (``htm``) and URL (``htu``), when it was made (``iat``), a unique ``jti``, and at
resource endpoints the hash of the access token (``ath``). What this module checks, in order
(RFC 9449 §4.3):

1. one ``DPoP`` header of at most ``MAX_PROOF_LENGTH`` characters, a compact JWS;
2. ``typ`` is ``dpop+jwt``, ``alg`` one of ``ALGORITHMS`` (asymmetric only), ``jwk`` a public
   key (no private parts), and the signature verifies with that key (joserfc does the JOSE);
3. ``htm`` is the request's method, ``htu`` the endpoint's URL (query and fragment ignored,
   scheme and host compared case-insensitively, default ports dropped: RFC 3986 §6.2.2-6.2.3),
   ``iat`` within ``tokens.dpop_proof_max_age`` seconds of now, ``ath`` the access token's
   SHA-256 at resource endpoints;
4. when the server requires nonces (``tokens.dpop_require_nonce``), a ``nonce`` it issued: an
   HMAC of the realm and a time slot (``NONCE_PERIOD``), so every worker accepts any worker's
   nonces without shared state; a missing or stale one gets ``use_dpop_nonce`` with a fresh
   one in the ``DPoP-Nonce`` header (§8), which every DPoP response then carries;
5. the ``jti`` was not seen before, within twice the ``iat`` window: proofs are remembered in
   Redis (``SET NX EX``) when ``redis.url`` is set, else in the ``dpop_proofs`` table (at most
   ``tokens.dpop_max_remembered_proofs`` rows, purged once expired).

A valid proof yields its key's thumbprint (``jkt``, RFC 7638), and the tokens issued for it are
bound to that key: the access token carries ``cnf: {"jkt": ...}`` and ``token_type`` is
``DPoP``; a public client's refresh token is bound too (§5). A request without a ``DPoP`` header
costs one header lookup.

Binding rules (``check_code_binding``, ``check_refresh_binding``), and why a refusal is not
counted as a reuse of the refresh token: a bound refresh token presented without a proof or
with another key is what someone who stole the token but not the key would send. Refusing it
before the token is claimed leaves the token, and the rest of its rotation family, to the client
that holds the key; revoking the family (as a replayed rotated-out token does, RFC 9700
§4.14.2) would let a thief who cannot use the token end the user's session at will. A bound
token is refused with ``invalid_dpop_proof`` when no proof came and ``invalid_grant`` when the
proof is of another key; an authorization code bound with ``dpop_jkt`` (§10) likewise."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import math
import threading
import time
import warnings
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from flask import current_app, g
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import UTCDateTime, utcnow
from ..security import keyed_digest

#: The proof signing algorithms accepted (``dpop_signing_alg_values_supported``): asymmetric
#: only, as a proof must be checkable with the public key it carries.
ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
HEADER = "DPoP"
NONCE_HEADER = "DPoP-Nonce"
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
#: A server nonce is good for the slot it was issued in and the next one: 2 to 4 minutes.
NONCE_PERIOD = 120
#: Key members that only a private key has (RFC 7517/7518/8037): a proof carrying one is refused.
PRIVATE_KEY_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: How often (seconds) a worker counts the remembered proofs against the cap.
CAP_CHECK_INTERVAL = 1.0


class DPoPProofRecord(db.Model):
    """A DPoP proof seen (a keyed digest of its key thumbprint and ``jti``), until its ``iat``
    window has passed for sure."""

    __tablename__ = "dpop_proofs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    proof_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class InvalidDPoPProofError(OAuth2Error):
    """RFC 9449 §5, §7.1: the ``DPoP`` proof is missing where one is needed, or not valid."""

    error = "invalid_dpop_proof"
    status_code = 400


class UseDPoPNonceError(OAuth2Error):
    """RFC 9449 §8: the proof must carry the server nonce sent in ``DPoP-Nonce``."""

    error = "use_dpop_nonce"
    status_code = 400

    def __init__(self, nonce: str, description: str = "Send the DPoP proof again with the nonce in DPoP-Nonce."):
        super().__init__(description)
        self.nonce = nonce

    def get_headers(self):
        return [*super().get_headers(), (NONCE_HEADER, self.nonce)]


class PublicClientProofLimitError(OAuth2Error):
    """This network sent more DPoP proofs for public clients than ``tokens.
    dpop_public_client_rate_limit`` allows: it waits (RFC 6585 §4)."""

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, retry_after: int):
        super().__init__("Too many DPoP token requests from this network; try again later.")
        self.retry_after = retry_after

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


class ProofStoreFullError(OAuth2Error):
    """Too many DPoP proofs are remembered at once: new ones wait until older ones expire."""

    error = "temporarily_unavailable"
    status_code = 503

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", "60")]


@dataclass(frozen=True)
class Proof:
    """A verified proof: the thumbprint of its key (RFC 7638) and its claims."""

    jkt: str
    jti: str
    claims: dict


def _settings():
    return current_app.extensions["idp.settings"].tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url of the SHA-256 of the access token (RFC 9449 §4.2)."""
    return _b64(hashlib.sha256(access_token.encode()).digest())


def normalized_url(url: str) -> str | None:
    """``url`` without query and fragment, scheme and host in lower case, the default port
    dropped and an empty path as ``/`` (RFC 9449 §4.3 step 9, RFC 3986 §6.2.2-6.2.3)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", "", ""))


def proof_headers(headers) -> list[str]:
    """The ``DPoP`` header values of a request (``headers`` as Werkzeug or a plain dict)."""
    getlist = getattr(headers, "getlist", None)
    if getlist is not None:
        return getlist(HEADER)
    value = next((v for k, v in (headers or {}).items() if k.lower() == "dpop"), None)
    return [value] if value is not None else []


# --- server nonces -----------------------------------------------------------------------------

def _nonce_for(realm, slot: int) -> str:
    mac = keyed_digest(f"dpop-nonce:{realm.id}:{slot}")[:32]
    return f"{slot:x}.{mac}"


def current_nonce(realm) -> str:
    return _nonce_for(realm, int(time.time()) // NONCE_PERIOD)


def nonce_is_fresh(realm, nonce) -> bool:
    """Issued by this server (any worker) for this realm in this slot or the one before."""
    if not isinstance(nonce, str) or len(nonce) > 64:
        return False
    slot = int(time.time()) // NONCE_PERIOD
    return any(hmac.compare_digest(nonce.encode(), _nonce_for(realm, s).encode()) for s in (slot, slot - 1))


def nonce_required() -> bool:
    return bool(_settings().dpop_require_nonce)


def response_headers(realm) -> dict:
    """What every response to a DPoP request carries: the current nonce when nonces are on."""
    return {NONCE_HEADER: current_nonce(realm)} if nonce_required() else {}


# --- the proof ---------------------------------------------------------------------------------

def verify_proof(realm, values: list[str], *, method: str, url: str, access_token: str | None = None) -> Proof:
    """The proof of a request whose ``DPoP`` header values are ``values``, made for ``method``
    and ``url`` (and ``access_token`` at a resource endpoint), or an ``OAuth2Error``."""
    from joserfc import jws
    from joserfc.errors import JoseError
    from joserfc.jwk import JWKRegistry

    registries = _proof_registries()
    if len(values) != 1:
        raise InvalidDPoPProofError("Send exactly one DPoP header.")
    value = values[0].strip()
    if not value or len(value) > MAX_PROOF_LENGTH:
        raise InvalidDPoPProofError("The DPoP proof is empty or too long.")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="EdDSA is deprecated")
            header = jws.extract_compact(value.encode(), registry=registries[None]).headers()
            if header.get("typ") != "dpop+jwt":
                raise InvalidDPoPProofError("The DPoP proof's typ must be dpop+jwt.")
            alg = header.get("alg")
            if alg not in ALGORITHMS:
                raise InvalidDPoPProofError(f"The DPoP proof's alg must be one of {', '.join(ALGORITHMS)}.")
            jwk = header.get("jwk")
            if not isinstance(jwk, dict) or PRIVATE_KEY_MEMBERS & set(jwk):
                raise InvalidDPoPProofError("The DPoP proof's jwk header must be a public key.")
            key = JWKRegistry.import_key(jwk)
            if key.is_private:
                raise InvalidDPoPProofError("The DPoP proof's jwk header must be a public key.")
            payload = jws.deserialize_compact(value, key, registry=registries[alg]).payload
            jkt = key.thumbprint()
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise InvalidDPoPProofError("The DPoP proof is not a JWT signed with the key in its jwk header.") from error
    try:
        claims = json.loads(payload)
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise InvalidDPoPProofError("The DPoP proof's payload must be a JSON object.")
    _check_claims(realm, claims, method=method, url=url, access_token=access_token)
    return Proof(jkt=jkt, jti=claims["jti"], claims=claims)


_registries: dict = {}


def _proof_registries() -> dict:
    """joserfc registries for proofs: one allowing only each algorithm (signature checks) and
    one allowing any of them (reading the header), each taking a header of up to 4 KiB, as a
    proof's header carries its public key (an RSA key is past joserfc's default of 512 bytes)."""
    if not _registries:
        from joserfc.jws import JWSRegistry

        class ProofRegistry(JWSRegistry):
            max_header_length = 4096

        _registries[None] = ProofRegistry(algorithms=list(ALGORITHMS))
        _registries.update({alg: ProofRegistry(algorithms=[alg]) for alg in ALGORITHMS})
    return _registries


def _check_claims(realm, claims: dict, *, method: str, url: str, access_token: str | None) -> None:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise InvalidDPoPProofError("The DPoP proof needs a jti.")
    if claims.get("htm") != method:
        raise InvalidDPoPProofError(f"The DPoP proof's htm must be {method}.")
    htu = claims.get("htu")
    if not isinstance(htu, str) or normalized_url(htu) is None or normalized_url(htu) != normalized_url(url):
        raise InvalidDPoPProofError(f"The DPoP proof's htu must be {url}.")
    iat = claims.get("iat")
    window = _settings().dpop_proof_max_age
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat) or \
            abs(time.time() - iat) > window:
        raise InvalidDPoPProofError("The DPoP proof's iat is missing or too far from the server's time.")
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not hmac.compare_digest(ath.encode(), access_token_hash(access_token).encode()):
            raise InvalidDPoPProofError("The DPoP proof's ath must be the hash of the access token.")
    if nonce_required() and not nonce_is_fresh(realm, claims.get("nonce")):
        raise UseDPoPNonceError(current_nonce(realm))


# --- replay: each proof once --------------------------------------------------------------------

_cap_lock = threading.Lock()


def remember_proof(proof: Proof) -> None:
    """Record the proof's ``jti`` (with its key), or ``InvalidDPoPProofError`` if it was seen."""
    lifetime = 2 * _settings().dpop_proof_max_age + 5
    digest = keyed_digest(f"dpop-proof:{proof.jkt}:{proof.jti}")
    redis_url = current_app.extensions["idp.settings"].redis.url
    if redis_url:
        first = _redis(redis_url).set(f"idp:dpop-proof:{digest}", 1, nx=True, ex=lifetime)
    else:
        first = _remember_in_database(digest, lifetime)
    if not first:
        raise InvalidDPoPProofError("This DPoP proof was already used: make a new one for each request.")


def count_public_client_proof() -> None:
    """Count a public client's proof against the caller's network before it is remembered: the
    only way a stranger can make the server keep proofs, so the limit that keeps one network from
    filling the store (``dpop_max_remembered_proofs``) for everyone."""
    import math

    from ..ratelimit import client_network, limiter

    items = current_app.extensions.get("idp.dpop_public_client_limits") or []
    if not items or not limiter.enabled:
        return
    network = client_network()
    realm = g.realm.name  # each realm its own budget: one realm's abuse does not stop another's apps
    strategy = limiter.limiter
    for item in items:
        if not strategy.hit(item, "dpop-public-client-proofs", realm, network):
            reset_at, _remaining = strategy.get_window_stats(item, "dpop-public-client-proofs", realm, network)
            raise PublicClientProofLimitError(max(1, math.ceil(reset_at - time.time())))


def _redis(url: str):
    clients = current_app.extensions.setdefault("idp.dpop_redis", {})
    if url not in clients:
        import redis

        clients[url] = redis.Redis.from_url(url, socket_timeout=5)
    return clients[url]


def _remember_in_database(digest: str, lifetime: int) -> bool:
    from ..database import commit_keeping_loaded_state

    _check_room()
    try:
        with db.session.begin_nested():
            db.session.add(DPoPProofRecord(proof_digest=digest,
                                           expires_at=utcnow() + dt.timedelta(seconds=lifetime)))
    except IntegrityError:
        return False
    commit_keeping_loaded_state()
    return True


def _check_room() -> None:
    """Refuse new proofs while ``dpop_max_remembered_proofs`` unexpired ones are kept; counted
    at most every ``CAP_CHECK_INTERVAL`` seconds per worker (the count reads at most the cap's
    number of index entries)."""
    cap = _settings().dpop_max_remembered_proofs
    now = time.monotonic()
    cap_state = current_app.extensions.setdefault("idp.dpop_proof_cap", {"checked_at": 0.0, "full": False})
    with _cap_lock:
        if now - cap_state["checked_at"] >= CAP_CHECK_INTERVAL:
            live = sa.select(DPoPProofRecord.id).where(DPoPProofRecord.expires_at > utcnow()).limit(cap).subquery()
            cap_state["full"] = db.session.scalar(sa.select(sa.func.count()).select_from(live)) >= cap
            cap_state["checked_at"] = now
        full = cap_state["full"]
    if full:
        raise ProofStoreFullError("Too many DPoP proofs at once; try again in a minute.")


def purge_dpop_proofs(settings, expired_before: dt.datetime) -> int:
    from ..services.purge import delete_in_batches

    return delete_in_batches(DPoPProofRecord.id, DPoPProofRecord.expires_at <= expired_before,
                             DPoPProofRecord.expires_at)


# --- the token endpoint -------------------------------------------------------------------------

def token_request_proof(realm, request, endpoint_url: str, *, remember: bool = True) -> Proof | None:
    """The verified (and, unless ``remember`` is False, recorded) proof of a request to
    ``endpoint_url`` (token, PAR, introspection), or None when it carries no ``DPoP`` header.
    The token endpoint records it only once the client has authenticated
    (``SenderConstrainedGrant``), so that a caller that is no client stores nothing."""
    values = proof_headers(request.headers)
    if not values:
        return None
    proof = verify_proof(realm, values, method=request.method, url=endpoint_url)
    if remember:
        remember_proof(proof)
    return proof


def proof_of(request) -> Proof | None:
    """The proof the server attached to an ``OAuth2Request`` (``dpop_proof``), if any."""
    return getattr(request, "dpop_proof", None)


def check_code_binding(code_jkt: str | None, request) -> None:
    """RFC 9449 §10: a code issued for ``dpop_jkt`` is redeemed only with a proof of that key."""
    if not code_jkt:
        return
    proof = proof_of(request)
    if proof is None:
        raise InvalidDPoPProofError("This authorization code is bound to a DPoP key: send a DPoP proof.")
    if not hmac.compare_digest(proof.jkt, code_jkt):
        raise InvalidGrantError("This authorization code is bound to another DPoP key.")


def check_refresh_binding(row, client, request) -> None:
    """RFC 9449 §5: a public client's bound refresh token needs a proof of the same key. A
    confidential client's refresh token is not bound (its client authentication constrains
    it), so it may be used with a new key, or none, for a new access token."""
    if not row.dpop_jkt or not client.public:
        return
    proof = proof_of(request)
    if proof is None:
        raise InvalidDPoPProofError("This refresh token is bound to a DPoP key: send a DPoP proof.")
    if not hmac.compare_digest(proof.jkt, row.dpop_jkt):
        raise InvalidGrantError("This refresh token is bound to another DPoP key.")


def check_client_requirement(client, request) -> None:
    """A client registered with ``dpop_bound_access_tokens`` never gets a bearer token."""
    if getattr(client, "dpop_bound_access_tokens", False) and proof_of(request) is None:
        raise InvalidDPoPProofError("This client must send a DPoP proof with every token request (RFC 9449).")


class SenderConstrainedGrant:
    """Mixin for every grant at the token endpoint: a client that must use DPoP is refused
    without a proof (right after its authentication, before a code or refresh token is
    spent), its proof is recorded then (a replay is refused before a code or refresh token is
    looked at), and the tokens issued for a request with a proof are bound to its key."""

    def authenticate_token_endpoint_client(self):
        client = super().authenticate_token_endpoint_client()
        check_client_requirement(client, self.request)
        proof = proof_of(self.request)
        if proof is not None:
            if client.public:
                count_public_client_proof()
            remember_proof(proof)
        return client

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True):
        proof = proof_of(self.request)
        return self.server.generate_token(
            grant_type=grant_type or self.GRANT_TYPE, client=self.request.client, user=user, scope=scope,
            expires_in=expires_in, include_refresh_token=include_refresh_token,
            dpop_jkt=proof.jkt if proof is not None else None)


# --- resource endpoints -------------------------------------------------------------------------

def bound_access_token(realm, access_token: str, *, method: str, url: str, headers, scope: str):
    """The token row of a request with ``Authorization: DPoP <access_token>`` and its proof
    (RFC 9449 §7.1): the proof valid for this request and token (``ath``), the token active,
    bound to the proof's key and granted ``scope``; else an ``OAuth2Error``. The proof is
    remembered only once all that holds, so only holders of a valid bound token add rows."""
    from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError

    from .server import active_access_token

    if not access_token or len(access_token) > 8192:
        raise InvalidTokenError("The DPoP scheme needs an access token.")
    proof = verify_proof(realm, proof_headers(headers), method=method, url=url, access_token=access_token)
    row = active_access_token(realm, access_token)
    if row is None or row.user is None or row.user.disabled:
        raise InvalidTokenError("The access token is not valid.")
    if not row.dpop_jkt or not hmac.compare_digest(row.dpop_jkt, proof.jkt):
        raise InvalidTokenError("The access token is not bound to the key of the DPoP proof.")
    if scope not in (row.scope or "").split():
        raise InsufficientScopeError()
    remember_proof(proof)
    return row


def challenge(error: OAuth2Error | None = None, *, realm_url: str | None = None) -> str:
    """A ``WWW-Authenticate: DPoP ...`` challenge (RFC 9449 §7.1), with the accepted ``algs``."""
    parts = []
    if realm_url:
        parts.append(f'realm="{realm_url}"')
    if error is not None:
        parts.append(f'error="{error.error}"')
        if error.description:
            parts.append('error_description="{}"'.format(error.description.replace('"', "'")))
    parts.append(f'algs="{" ".join(ALGORITHMS)}"')
    return "DPoP " + ", ".join(parts)


def init_app(app) -> None:
    from ..services.purge import Purge, register_purge

    register_purge(app, Purge("dpop_proofs", purge_dpop_proofs))


def refresh_token_is_bound(row) -> bool:
    """Whether the refresh token of ``row`` is bound to its DPoP key (a public client's)."""
    if not row.dpop_jkt:
        return False
    client = row.get_client()
    return client is not None and client.public
