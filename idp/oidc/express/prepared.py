"""Prepared client_credentials answers: a machine client's next token, answered without Flask's
app context, lookups or checks while nothing they read has changed.

A machine client asks for the same token over and over: for one client, one scope and one
URL the answer differs only in ``iat``, ``exp``, ``jti`` and the signature
(``idp.oidc.tokens.stamp``). When the token lane grants a plain client_credentials request
(``ClientCredentialsGrant.answer_plain_request``: the client found, its secret, method, grant
type and scope checked, the token signed), it keeps what that answer was made of here: the
client's secret digest, the token's claims and header, the signing key, the answer's headers.
The next plain request of that client, method and scope is answered from it: its secret is
checked against the kept digest (the same keyed digest and constant-time comparison as
``Client.check_client_secret``), the claims are stamped again and signed with the same key.
That was two thirds of the request's CPU (issue 17's profile).

Never stale: each prepared answer carries the lookup cache's generation it was made under
(read before the realm, client and key were), and is used only while
``LookupCache.current_generation`` returns the same number. Any change to a realm, a client or a
signing key, in this process or another one, moves it (``idp.services.lookup_cache``), and while
the cache cannot promise that (PostgreSQL's listening connection down) there is no generation
and nothing is prepared or used. A client that expires (anonymous registration) is used only
until its ``expires_at``. Anything else goes to the lane as before: another client, method or
scope, a wrong secret (the lane then answers the refusal its usual way), a request of any
other shape. Revocation does not apply: a client_credentials token is kept in no row until it
is revoked, and revoking it does not stop the next request from getting a new one.

Bounded, as an authenticated client chooses its ``scope`` strings: only requests to the token
URL of the public address (not another ``Host`` the host check lets through, such as another
port) with a ``scope`` of at most ``MAX_SCOPE_LENGTH`` characters are kept, at most
``MAX_PER_CLIENT`` per client and ``MAX_PREPARED`` per process, the oldest making way: one
client cannot push out the others'."""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import NamedTuple

from authlib.integrations.flask_oauth2.signals import client_authenticated
from joserfc import jws, jwt

from ...security import digests_equal, keyed_digest
from ..grants.client_credentials import ClientCredentialsGrant
from ..tokens import stamp, unverified_claims
from .answer import ExpressAnswer

MAX_PREPARED = 1024
MAX_PER_CLIENT = 8
MAX_SCOPE_LENGTH = 256


class PreparedGrant(NamedTuple):
    generation: int
    #: ``time.time()`` after which the client is gone (``Client.expires_at``), or None.
    valid_until: float | None
    secret_digest: str
    claims: dict
    lifetime: int
    header: dict
    key: object
    algorithm: str
    #: The token response, its ``access_token`` left out (None), in the order Authlib's answer had.
    token: dict
    headers: tuple[tuple[str, str], ...]


class PreparedAnswers:
    """One per ``ExpressLanes``: the prepared answers of this process, by request shape."""

    def __init__(self, app):
        self.app = app
        self.cache = app.extensions.get("idp.lookup_cache")
        self.digest_key = app.config["IDP_TOKEN_HASH_KEY"].encode()
        self._prepared: dict[tuple, PreparedGrant] = {}
        #: The keys of each client's prepared answers, oldest first.
        self._by_client: dict[str, list[tuple]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(request, credentials) -> tuple:
        client_id, _secret, method = credentials
        return request.url, method, client_id, request.form.get("scope")

    def generation(self) -> int | None:
        """The generation a prepared answer made now would be valid under (read before the
        lookups it is made from), or None when none may be made."""
        return self.cache.current_generation() if self.cache is not None else None

    def answer(self, request) -> ExpressAnswer | None:
        """The answer to ``request`` from a prepared one, or None (the lane answers)."""
        if request.form.get("grant_type") != "client_credentials" or not self._prepared:
            return None
        credentials = ClientCredentialsGrant.plain_credentials(request)
        if credentials is None:
            return None
        prepared = self._prepared.get(self._key(request, credentials))
        if prepared is None or prepared.generation != self.generation():
            return None
        if prepared.valid_until is not None and time.time() >= prepared.valid_until:
            return None
        if client_authenticated.receivers:  # someone listens: Authlib's dispatch answers
            return None
        if not digests_equal(keyed_digest(credentials[1], self.digest_key), prepared.secret_digest):
            return None
        claims = stamp(dict(prepared.claims), prepared.lifetime)
        token = dict(prepared.token)
        token["access_token"] = jwt.encode(prepared.header, claims, prepared.key, algorithms=[prepared.algorithm])
        response = ExpressAnswer(200, json.dumps(token).encode(), list(prepared.headers))
        purge = self.app.extensions.get("idp.periodic_purge")
        if purge is not None:
            purge.after_request(response, self.app)
        return response

    def keep(self, request, answer: ExpressAnswer, *, generation: int | None, token_url: str) -> None:
        """Keep the answer the lane just gave a plain request (``answer.repeatable``: made from
        the client and signing key it names, read after ``generation`` was), if the request
        was sent to ``token_url`` (the realm's, at the public address)."""
        credentials = ClientCredentialsGrant.plain_credentials(request)
        if generation is None or credentials is None or answer.status_code != 200 or not answer.repeatable:
            return
        if request.url != token_url or len(request.form.get("scope") or "") > MAX_SCOPE_LENGTH:
            return
        client, signing_key, kid, algorithm, token = (answer.repeatable[name]
                                                      for name in ("client", "key", "kid", "algorithm", "token"))
        access_token = token["access_token"]
        claims = unverified_claims(access_token)
        header = jws.extract_compact(access_token.encode()).protected
        lifetime = token.get("expires_in")
        if header.get("kid") != kid or header.get("alg") != algorithm or client.client_id != credentials[0]:
            return
        if claims.get("exp") is None or claims.get("iat") is None or claims["exp"] - claims["iat"] != lifetime:
            return
        expires_at = client.expires_at
        prepared = PreparedGrant(
            generation=generation,
            valid_until=None if expires_at is None else _timestamp(expires_at),
            secret_digest=client.client_secret_digest,
            claims=claims,
            lifetime=lifetime,
            header=header,
            key=signing_key,
            algorithm=algorithm,
            token={name: (None if name == "access_token" else value) for name, value in token.items()},
            headers=tuple(answer.headers),
        )
        key = self._key(request, credentials)
        with self._lock:
            self._forget(key)
            keys = self._by_client.setdefault(credentials[0], [])
            while len(keys) >= MAX_PER_CLIENT:
                self._forget(keys[0])
            while len(self._prepared) >= MAX_PREPARED:
                self._forget(next(iter(self._prepared)))
            self._prepared[key] = prepared
            self._by_client.setdefault(credentials[0], []).append(key)

    def _forget(self, key: tuple) -> None:
        """Drop ``key``'s prepared answer (under ``_lock``)."""
        if self._prepared.pop(key, None) is None:
            return
        client_id = key[2]
        keys = self._by_client.get(client_id, [])
        if key in keys:
            keys.remove(key)
        if not keys:
            self._by_client.pop(client_id, None)


def _timestamp(moment: dt.datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()
