"""Apps that authenticate with a signed JWT instead of a shared secret (RFC 7523, OpenID Connect
Core §9): ``private_key_jwt`` with keys registered inline or at a ``jwks_uri``, and
``client_secret_jwt``. An assertion works once, for this provider, for a short while; a client
registered for one method cannot use another."""
from __future__ import annotations

import socketserver
import threading
import time
from urllib.parse import urlsplit

import pytest

from .jwt_clients import (
    ISSUER,
    KeyServer,
    assertion_form,
    client_assertion,
    new_key,
    public_jwks,
    secret_key,
    sign,
)

KEY_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
LOOPBACK_KEYS = {"allow_private_jwks_uri": True, "allow_http_jwks_uri": True}


@pytest.fixture(scope="module")
def key_server():
    server = KeyServer()
    yield server
    server.close()


@pytest.fixture
def app(make_app):
    """The operator allows jwks_uri on loopback over http: the tests publish keys on 127.0.0.1."""
    return make_app(client_keys=LOOPBACK_KEYS)


@pytest.fixture
def realm(factory):
    return factory.realm("acme")


def _service_client(factory, realm, **kwargs):
    return factory.client(realm, name="Billing service", grant_types=["client_credentials"], **kwargs)


def _token(http, form):
    return http.post("/realms/acme/token", data={"grant_type": "client_credentials", **form})


@pytest.mark.parametrize("alg", KEY_ALGORITHMS)
def test_a_service_gets_a_token_with_an_assertion_signed_by_its_registered_key(app, factory, realm, alg):
    key = new_key(alg)
    client_id, secret = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt",
                                        jwks=public_jwks(key))
    assert secret is None, "a private_key_jwt client has no secret"

    response = _token(app.test_client(), assertion_form(client_id, client_assertion(client_id, key, alg)))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["token_type"] == "Bearer"


def test_a_client_secret_jwt_client_signs_with_its_secret(app, factory, realm):
    client_id, secret = _service_client(factory, realm, token_endpoint_auth_method="client_secret_jwt")
    http = app.test_client()

    response = _token(http, assertion_form(client_id, client_assertion(client_id, secret_key(secret), "HS256")))
    assert response.status_code == 200, response.get_json()

    refused = http.post("/realms/acme/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client", \
        "registered for client_secret_jwt, it cannot send the secret itself"


def test_a_client_secret_jwt_clients_secret_is_kept_encrypted_and_rotates(app, factory, realm):
    from idp.extensions import db
    from idp.models import Client
    from idp.services.clients import rotate_client_secret

    client_id, old_secret = _service_client(factory, realm, token_endpoint_auth_method="client_secret_jwt")
    client = db.session.scalar(db.select(Client).filter_by(client_id=client_id))
    assert client.client_secret_encrypted and old_secret not in client.client_secret_encrypted
    new_secret = rotate_client_secret(client)
    db.session.commit()
    http = app.test_client()

    old = _token(http, assertion_form(client_id, client_assertion(client_id, secret_key(old_secret), "HS256")))
    new = _token(http, assertion_form(client_id, client_assertion(client_id, secret_key(new_secret), "HS256")))
    assert old.get_json()["error"] == "invalid_client" and new.status_code == 200


def test_a_secret_client_cannot_switch_to_an_assertion_and_a_key_client_cannot_send_a_secret(app, factory, realm):
    key = new_key("ES256")
    secret_client, secret = _service_client(factory, realm)
    http = app.test_client()
    with_assertion = _token(http, assertion_form(secret_client, client_assertion(secret_client, secret_key(secret),
                                                                                 "HS256")))
    assert with_assertion.get_json()["error"] == "invalid_client"

    key_client, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt",
                                    jwks=public_jwks(key))
    with_post = _token(http, {"client_id": key_client, "client_secret": "anything"})
    assert with_post.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("aud", [ISSUER, f"{ISSUER}/token", [f"{ISSUER}/token", "https://other.example"]],
                         ids=["issuer", "token-endpoint", "list-with-token-endpoint"])
def test_the_issuer_and_the_token_endpoint_are_both_accepted_audiences(app, factory, realm, aud):
    key = new_key("ES256")
    client_id, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))

    response = _token(app.test_client(), assertion_form(client_id, client_assertion(client_id, key, "ES256", aud=aud)))
    assert response.status_code == 200, response.get_json()


def test_a_replayed_client_assertion_is_refused(app, factory, realm):
    key = new_key("RS256")
    client_id, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))
    assertion = client_assertion(client_id, key, "RS256")
    http = app.test_client()

    assert _token(http, assertion_form(client_id, assertion)).status_code == 200
    replay = _token(http, assertion_form(client_id, assertion))

    assert replay.status_code in (400, 401) and replay.get_json()["error"] == "invalid_client"
    assert "used" in replay.get_json()["error_description"]


@pytest.mark.parametrize(("change", "why"), [
    ({"lifetime": -120}, "expired"),
    ({"lifetime": 3600}, "exp too far ahead"),
    ({"exp": None, "lifetime": 0}, "no exp"),
    ({"aud": "https://another-provider.example/token"}, "wrong audience"),
    ({"aud": f"{ISSUER}/userinfo"}, "an endpoint that does not authenticate clients"),
    ({"iss": "someone-else"}, "iss is not the client"),
    ({"jti": None}, "no jti"),
    ({"iat": 32503680000}, "iat in the future"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_an_assertion_that_is_not_fresh_and_for_us_is_refused(app, factory, realm, change, why):
    key = new_key("ES256")
    client_id, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))
    change = dict(change)
    if "exp" in change:
        change.pop("exp")
        import time

        assertion = sign({"iss": client_id, "sub": client_id, "aud": f"{ISSUER}/token", "jti": "x1",
                          "iat": int(time.time())}, key, "ES256")
    else:
        assertion = client_assertion(client_id, key, "ES256", **change)

    response = _token(app.test_client(), assertion_form(client_id, assertion))

    assert response.status_code in (400, 401), why
    assert response.get_json()["error"] == "invalid_client", why


def test_an_assertion_with_an_unknown_kid_or_another_key_is_refused(app, factory, realm):
    registered, other = new_key("ES256", kid="k1"), new_key("ES256", kid="k2")
    impostor = new_key("ES256", kid="k1")
    client_id, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt",
                                   jwks=public_jwks(registered))
    http = app.test_client()

    unknown_kid = _token(http, assertion_form(client_id, client_assertion(client_id, other, "ES256")))
    wrong_key = _token(http, assertion_form(client_id, client_assertion(client_id, impostor, "ES256")))

    assert unknown_kid.get_json()["error"] == "invalid_client"
    assert wrong_key.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("alg", ["none", "HS256", "RS384"])
def test_an_assertion_signed_with_an_algorithm_outside_the_allow_list_is_refused(app, factory, realm, alg):
    import base64
    import json
    import time

    key = new_key("RS256", kid="k1")
    client_id, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))
    claims = {"iss": client_id, "sub": client_id, "aud": f"{ISSUER}/token", "jti": "j", "exp": int(time.time()) + 60}
    if alg == "none":
        def part(data):
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
        assertion = f"{part({'alg': 'none', 'kid': 'k1'})}.{part(claims)}."
    elif alg == "HS256":  # the public key's modulus as an HMAC secret: the classic confusion
        assertion = sign(claims, secret_key(key.as_dict(private=False)["n"]), "HS256", kid="k1")
    else:
        assertion = sign(claims, key, "RS384")

    response = _token(app.test_client(), assertion_form(client_id, assertion))
    assert response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("endpoint", ["par", "introspect", "revoke", "device_authorization"])
def test_every_endpoint_that_authenticates_clients_takes_an_assertion_with_its_own_url_as_audience(
        app, factory, realm, endpoint):
    key = new_key("EdDSA")
    client_id, _ = factory.client(realm, name="TV app", token_endpoint_auth_method="private_key_jwt",
                                  jwks=public_jwks(key), grant_types=["authorization_code", "refresh_token",
                                                                      "device_code"])
    http = app.test_client()
    form = {"par": {"response_type": "code", "redirect_uri": "http://127.0.0.1:9999/callback", "scope": "openid",
                    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"},
            "introspect": {"token": "not-a-token"}, "revoke": {"token": "not-a-token"},
            "device_authorization": {"scope": "openid"}}[endpoint]
    url = f"/realms/acme/{endpoint}"

    response = http.post(url, data=assertion_form(
        client_id, client_assertion(client_id, key, "EdDSA", aud=f"{ISSUER}/{endpoint}"), **form))
    assert response.status_code in (200, 201), response.get_data(as_text=True)

    without = http.post(url, data={"client_id": client_id, **form})
    assert without.status_code in (400, 401) and without.get_json()["error"] == "invalid_client"


# --- keys at a jwks_uri ---------------------------------------------------------------------------

def test_keys_published_at_a_jwks_uri_are_fetched_once_and_cached(app, factory, realm, key_server):
    key = new_key("RS256")
    url = key_server.publish(public_jwks(key), {"Cache-Control": "max-age=600"})
    client_id, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt", jwks_uri=url)
    http = app.test_client()

    for _ in range(3):
        assert _token(http, assertion_form(client_id, client_assertion(client_id, key, "RS256"))).status_code == 200
    assert key_server.hits[urlsplit(url).path] == 1


def test_a_key_the_client_rotated_in_is_fetched_on_its_first_use(make_app, key_server):
    from tests.helpers import Factory

    app = make_app(client_keys={**LOOPBACK_KEYS, "refetch_interval_seconds": 0})
    old, new = new_key("ES256"), new_key("ES256")
    url = key_server.publish(public_jwks(old))
    with app.app_context():
        factory = Factory(app)
        client_id, _ = _service_client(factory, factory.realm("acme"), token_endpoint_auth_method="private_key_jwt",
                                       jwks_uri=url)
    http = app.test_client()
    assert _token(http, assertion_form(client_id, client_assertion(client_id, old, "ES256"))).status_code == 200

    key_server.put(urlsplit(url).path, public_jwks(old, new))
    response = _token(http, assertion_form(client_id, client_assertion(client_id, new, "ES256")))

    assert response.status_code == 200, response.get_json()
    assert key_server.hits[urlsplit(url).path] == 2


def test_made_up_key_ids_do_not_make_the_provider_fetch_again_and_again(app, factory, realm, key_server):
    key = new_key("ES256")
    url = key_server.publish(public_jwks(key))
    client_id, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt", jwks_uri=url)
    http = app.test_client()
    assert _token(http, assertion_form(client_id, client_assertion(client_id, key, "ES256"))).status_code == 200

    for _ in range(5):
        stranger = new_key("ES256")
        assert _token(http, assertion_form(client_id, client_assertion(client_id, stranger, "ES256"))
                      ).get_json()["error"] == "invalid_client"
    assert key_server.hits[urlsplit(url).path] == 1, "refetched at most once per refetch_interval_seconds"


def test_anyone_naming_a_client_whose_jwks_uri_fails_does_not_make_the_provider_fetch_it_each_time(
        app, factory, realm, key_server):
    """An anonymous caller can send assertions naming any client: while the client's jwks_uri
    answers with an error, each of them must not cost the provider a new fetch."""
    key = new_key("ES256")
    url = key_server.publish(public_jwks(key))
    key_server.documents.pop(urlsplit(url).path)
    client_id, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt", jwks_uri=url)
    http = app.test_client()

    for _ in range(5):
        response = _token(http, assertion_form(client_id, client_assertion(client_id, new_key("ES256"), "ES256")))
        assert response.get_json()["error"] == "invalid_client"
        assert "cannot be fetched" in response.get_json()["error_description"]
    assert key_server.hits[urlsplit(url).path] == 1, "a failed fetch is retried at most once per refetch_interval_seconds"


@pytest.mark.parametrize("dripped", ["tls handshake", "headers", "body"])
def test_a_jwks_uri_that_answers_a_byte_at_a_time_is_cut_off_at_the_time_limit(make_app, dripped):
    """The fetch's time limit is for the whole exchange: a server sending its TLS handshake, its
    headers or its key set a byte now and then (each within the socket timeout) does not hold a
    worker for longer."""
    from tests.helpers import Factory

    preamble = {"tls handshake": b"\x16\x03\x03\x40\x00",  # a TLS handshake record, 16 KiB announced
                "headers": b"HTTP/1.1 200 OK\r\n",
                "body": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"}[dripped]

    class Dripping(socketserver.BaseRequestHandler):
        def handle(self):
            try:
                self.request.recv(4096)
                self.request.sendall(preamble)
                for _ in range(40):
                    self.request.sendall(b"\x02")
                    time.sleep(0.3)
            except OSError:
                pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Dripping)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if dripped == "tls handshake" else "http"
    try:
        app = make_app(client_keys={**LOOPBACK_KEYS, "fetch_timeout_seconds": 1})
        key = new_key("ES256")
        with app.app_context():
            factory = Factory(app)
            client_id, _ = _service_client(factory, factory.realm("acme"), token_endpoint_auth_method="private_key_jwt",
                                           jwks_uri=f"{scheme}://127.0.0.1:{server.server_address[1]}/jwks")
        started = time.monotonic()
        response = _token(app.test_client(), assertion_form(client_id, client_assertion(client_id, key, "ES256")))
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()

    assert response.get_json()["error"] == "invalid_client"
    assert "time limit" in response.get_json()["error_description"]
    assert took < 3, f"the fetch went on for {took:.1f} s with a 1 s time limit"


def test_an_oversized_key_set_is_refused(make_app, key_server):
    from tests.helpers import Factory

    app = make_app(client_keys={**LOOPBACK_KEYS, "max_jwks_bytes": 4096})
    key = new_key("ES256")
    padded = public_jwks(key)
    padded["padding"] = "x" * 8000
    url = key_server.publish(padded)
    with app.app_context():
        factory = Factory(app)
        client_id, _ = _service_client(factory, factory.realm("acme"), token_endpoint_auth_method="private_key_jwt",
                                       jwks_uri=url)

    response = _token(app.test_client(), assertion_form(client_id, client_assertion(client_id, key, "ES256")))

    assert response.get_json()["error"] == "invalid_client"
    assert "larger than 4096 bytes" in response.get_json()["error_description"]


def test_a_jwks_uri_on_a_private_address_is_refused_unless_the_operator_allows_it(make_app, key_server):
    from idp.extensions import db
    from idp.models import Client
    from idp.services import ServiceError
    from tests.helpers import Factory

    app = make_app(client_keys={"allow_http_jwks_uri": True})
    key = new_key("ES256")
    url = key_server.publish(public_jwks(key))
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        for private in ("https://127.0.0.1/jwks", "https://10.0.0.7/jwks", "https://169.254.169.254/latest",
                        "https://localhost/jwks", "https://[::1]/jwks"):
            with pytest.raises(ServiceError, match="non-public address"):
                _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt", jwks_uri=private)
            db.session.rollback()
        client_id, _ = _service_client(factory, realm, token_endpoint_auth_method="private_key_jwt",
                                       jwks=public_jwks(key))
        # registered while it was allowed (or a public name that now resolves to loopback)
        db.session.execute(db.update(Client).filter_by(client_id=client_id).values(jwks=None, jwks_uri=url))
        db.session.commit()

    response = _token(app.test_client(), assertion_form(client_id, client_assertion(client_id, key, "ES256")))

    assert response.get_json()["error"] == "invalid_client"
    assert "non-public address" in response.get_json()["error_description"]
    assert key_server.hits.get(urlsplit(url).path) is None, "never connected"


@pytest.mark.parametrize(("registration", "message"), [
    ({"token_endpoint_auth_method": "private_key_jwt"}, "needs its public keys"),
    ({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []}}, "at least one key"),
    ({"jwks": "{not json"}, "not JSON"),
    ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "RSA, EC or OKP"),
    ({"jwks": "private"}, "private key"),
    ({"jwks": "public", "jwks_uri": "https://keys.example/jwks"}, "not both"),
    ({"jwks_uri": "http://keys.example/jwks"}, "https"),
    ({"token_endpoint_auth_method": "tls_client_auth"}, "must be one of"),
])
def test_registering_keys_or_a_method_that_cannot_work_is_refused(make_app, registration, message):
    from idp.extensions import db
    from idp.models import Client
    from idp.services import ServiceError
    from tests.helpers import Factory

    app = make_app()
    key = new_key("RS256")
    registration = dict(registration)
    if registration.get("jwks") == "private":
        registration["jwks"] = {"keys": [key.as_dict(private=True)]}
    elif registration.get("jwks") == "public":
        registration["jwks"] = public_jwks(key)
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        with pytest.raises(ServiceError, match=message):
            _service_client(factory, realm, **registration)
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count()).select_from(Client)) == 0


def test_with_redis_every_worker_refuses_a_replayed_assertion(make_app):
    """With ``redis.url`` the used ``jti``s live in Redis (shared by every worker and machine),
    not in the database."""
    import os

    import redis

    from idp.extensions import db
    from idp.oidc.jwt_ids import UsedJwtId
    from tests.helpers import Factory

    from ..scale.conftest import skip_or_fail

    url = os.environ.get("IDP_TEST_REDIS_URL")
    if not url:
        skip_or_fail("IDP_TEST_REDIS_URL is not set (redis://127.0.0.1:6379/0; .ci/run starts one)")
    first, second = make_app(redis={"url": url}), make_app(redis={"url": url})
    key = new_key("ES256")
    with first.app_context():
        client_id, _ = _service_client(Factory(first), Factory(first).realm("acme"),
                                       token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))
    assertion = client_assertion(client_id, key, "ES256")

    assert _token(first.test_client(), assertion_form(client_id, assertion)).status_code == 200
    replay = _token(second.test_client(), assertion_form(client_id, assertion))

    assert replay.get_json()["error"] == "invalid_client"
    with first.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(UsedJwtId)) == 0
    assert redis.Redis.from_url(url).ttl(next(iter(redis.Redis.from_url(url).scan_iter("idp:jti:*")))) > 0
