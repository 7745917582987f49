"""DPoP (RFC 9449): an app that holds a key pair proves it with every request, and the tokens it
gets are bound to that key, so a stolen token (or refresh token, or code) is of no use without
the key. Proofs are checked at the token endpoint (every grant), PAR, userinfo and
introspection: a replayed proof, a proof for another URL or method, a stale one, one whose
signature is not the key it carries, one without the token's hash are all refused."""
from __future__ import annotations

import json
import os
import secrets
import time
import uuid
import warnings

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey, RSAKey

from ..flows import HostedLogin, pkce_pair

ISSUER = "http://localhost/realms/acme"
TOKEN_URL = f"{ISSUER}/token"
USERINFO_URL = f"{ISSUER}/userinfo"


class DPoPKey:
    """An app's DPoP key pair, making proofs as openid-client does (and, on request, the ways a
    broken or malicious one would)."""

    def __init__(self, alg: str = "ES256"):
        self.alg = alg
        if alg == "ES256":
            self.key = ECKey.generate_key("P-256")
        elif alg == "EdDSA":
            self.key = OKPKey.generate_key("Ed25519")
        else:
            self.key = RSAKey.generate_key(2048)

    @property
    def jkt(self) -> str:
        return self.key.thumbprint()

    def proof(self, htm: str = "POST", htu: str = TOKEN_URL, *, access_token: str | None = None, nonce=None,
              iat: float | None = None, signed_by: DPoPKey | None = None, typ: str = "dpop+jwt",
              jwk: dict | None = None, omit: tuple = (), ath: str | None = None) -> str:
        from idp.oidc.dpop import access_token_hash

        when = time.time() if iat is None else iat
        claims = {"jti": uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": when if when != when else int(when)}
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if ath is not None:
            claims["ath"] = ath
        if nonce is not None:
            claims["nonce"] = nonce
        for name in omit:
            claims.pop(name, None)
        header = {"typ": typ, "alg": self.alg, "jwk": jwk or self.key.as_dict(private=False)}
        signer = signed_by or self
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="EdDSA is deprecated")
            return jws.serialize_compact({**header, "alg": signer.alg}, json.dumps(claims), signer.key,
                                         algorithms=[signer.alg])


def _claims(jwt_string: str) -> dict:
    import base64

    payload = jwt_string.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def acme(app, factory):
    realm = factory.realm("acme")
    factory.user(realm)
    service_id, service_secret = factory.client(realm, name="Service", grant_types=["client_credentials"])
    spa_id, _ = factory.client(realm, name="SPA", public=True)
    web_id, web_secret = factory.client(realm, name="Web")
    return {"service": (service_id, service_secret), "spa": spa_id, "web": (web_id, web_secret)}


def _service_token(http, acme, proof=None, headers=None):
    return http.post("/realms/acme/token", data={"grant_type": "client_credentials"}, auth=acme["service"],
                     headers={"DPoP": proof} if proof else (headers or {}))


def _login(app, client_id, secret=None, **authorize):
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.authorize(scope="openid email offline_access", **authorize)
    login.log_in()
    return login


def _redeem(login, key: DPoPKey | None):
    params = login.callback_params()
    data = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": login.redirect_uri,
            "code_verifier": login.verifier}
    kwargs = {"headers": {"DPoP": key.proof()} if key else {}}
    if login.client_secret:
        kwargs["auth"] = (login.client_id, login.client_secret)
    else:
        data["client_id"] = login.client_id
    return login.http.post("/realms/acme/token", data=data, **kwargs)


def _refresh(http, client_id, refresh_token, key: DPoPKey | None):
    return http.post("/realms/acme/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token,
                                                 "client_id": client_id},
                     headers={"DPoP": key.proof()} if key else {})


def _userinfo(http, access_token, proof=None, scheme="DPoP"):
    headers = {"Authorization": f"{scheme} {access_token}"}
    if proof:
        headers["DPoP"] = proof
    return http.get("/realms/acme/userinfo", headers=headers)


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_a_service_proving_its_key_with_each_advertised_algorithm_gets_a_token_bound_to_it(app, acme, alg):
    key = DPoPKey(alg)
    http = app.test_client()
    metadata = http.get("/realms/acme/.well-known/openid-configuration").get_json()
    assert alg in metadata["dpop_signing_alg_values_supported"]

    response = _service_token(http, acme, key.proof())

    assert response.status_code == 200, response.get_json()
    token = response.get_json()
    assert token["token_type"] == "DPoP"
    assert _claims(token["access_token"])["cnf"] == {"jkt": key.jkt}


def test_discovery_lists_exactly_the_proof_algorithms_accepted(app, acme):
    metadata = app.test_client().get("/realms/acme/.well-known/openid-configuration").get_json()
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]


def test_without_a_proof_the_token_endpoint_issues_bearer_tokens_as_before(app, acme):
    token = _service_token(app.test_client(), acme).get_json()
    assert token["token_type"] == "Bearer" and "cnf" not in _claims(token["access_token"])


def _hs256_proof():
    from joserfc.jwk import OctKey

    key = OctKey.generate_key(256)
    claims = {"jti": uuid.uuid4().hex, "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time())}
    return jws.serialize_compact({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.as_dict()}, json.dumps(claims), key)


@pytest.mark.parametrize("make_proof, why", [
    (lambda key: key.proof(htu="http://localhost/realms/acme/userinfo"), "made for another URL (htu)"),
    (lambda key: key.proof(htu="https://localhost/realms/acme/token"), "made for another scheme"),
    (lambda key: key.proof(htm="GET"), "made for another method (htm)"),
    (lambda key: key.proof(iat=time.time() - 600), "made ten minutes ago (iat)"),
    (lambda key: key.proof(iat=time.time() + 600), "dated ten minutes ahead"),
    (lambda key: key.proof(signed_by=DPoPKey()), "signed by another key than its jwk header"),
    (lambda key: key.proof(typ="JWT"), "not typed dpop+jwt"),
    (lambda key: key.proof(jwk=key.key.as_dict(private=True)), "carrying the private key"),
    (lambda key: key.proof(omit=("jti",)), "without a jti"),
    (lambda key: key.proof(iat=float("nan")), "dated NaN"),
    (lambda key: _hs256_proof(), "signed with a shared secret (HS256)"),
    (lambda key: "not-a-jwt", "not a JWT at all"),
])
def test_a_bad_proof_is_refused_at_the_token_endpoint(app, acme, make_proof, why):
    response = _service_token(app.test_client(), acme, make_proof(DPoPKey()))
    assert response.status_code == 400, why
    assert response.get_json()["error"] == "invalid_dpop_proof", why


def test_the_url_in_a_proof_is_compared_without_its_query_and_in_normal_form(app, acme):
    key = DPoPKey()
    response = _service_token(app.test_client(), acme, key.proof(htu="HTTP://LOCALHOST:80/realms/acme/token?x=1#f"))
    assert response.status_code == 200, response.get_json()


def test_two_proof_headers_are_refused(app, acme):
    key = DPoPKey()
    response = _service_token(app.test_client(), acme, headers=[("DPoP", key.proof()), ("DPoP", key.proof())])
    assert response.get_json()["error"] == "invalid_dpop_proof"


@pytest.fixture(params=["database", "redis"])
def replay_store(request, make_app):
    """The app whose replay store is the database table, or Redis (``IDP_TEST_REDIS_URL``)."""
    if request.param == "redis":
        url = os.environ.get("IDP_TEST_REDIS_URL")
        if not url:
            pytest.skip("IDP_TEST_REDIS_URL is not set")
        return make_app(redis={"url": url})
    return make_app()


def test_a_replayed_proof_is_refused(replay_store):
    app = replay_store
    credentials = _service_of(app)
    proof = DPoPKey().proof()
    http = app.test_client()

    first = http.post("/realms/acme/token", data={"grant_type": "client_credentials"}, auth=credentials,
                      headers={"DPoP": proof})
    again = http.post("/realms/acme/token", data={"grant_type": "client_credentials"}, auth=credentials,
                      headers={"DPoP": proof})

    assert first.status_code == 200
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_dpop_proof"
    assert "already used" in again.get_json()["error_description"]


def test_proofs_sent_by_a_caller_that_is_no_client_are_not_remembered(app, acme):
    """Anyone can make a valid proof with a key of their own: were the proofs of requests whose
    client fails to authenticate remembered, a stranger could fill the store up to its cap, and
    every app's DPoP requests would get 503 until they expire."""
    from idp.extensions import db
    from idp.oidc.dpop import DPoPProofRecord

    http = app.test_client()
    for _ in range(3):
        refused = http.post("/realms/acme/token", data={"grant_type": "client_credentials"},
                            auth=("nobody", "guessed"), headers={"DPoP": DPoPKey().proof()})
        assert refused.get_json()["error"] == "invalid_client"
    wrong_secret = _service_token(http, {"service": (acme["service"][0], "guessed")}, DPoPKey().proof())
    assert wrong_secret.get_json()["error"] == "invalid_client"

    assert db.session.scalar(db.select(db.func.count()).select_from(DPoPProofRecord)) == 0
    assert _service_token(http, acme, DPoPKey().proof()).status_code == 200
    assert db.session.scalar(db.select(db.func.count()).select_from(DPoPProofRecord)) == 1


def test_a_public_app_keeps_its_tokens_bound_to_its_key_from_code_to_userinfo_and_refresh(app, acme):
    key = DPoPKey()
    login = _login(app, acme["spa"])
    response = _redeem(login, key)
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    assert tokens["token_type"] == "DPoP" and _claims(tokens["access_token"])["cnf"] == {"jkt": key.jkt}
    http = app.test_client()

    info = _userinfo(http, tokens["access_token"], key.proof("GET", USERINFO_URL, access_token=tokens["access_token"]))
    assert info.status_code == 200 and info.get_json()["email"] == "alice@example.com"

    as_bearer = _userinfo(http, tokens["access_token"], scheme="Bearer")
    assert as_bearer.status_code == 401
    assert as_bearer.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')

    refreshed = _refresh(http, acme["spa"], tokens["refresh_token"], key)
    assert refreshed.status_code == 200, refreshed.get_json()
    assert _claims(refreshed.get_json()["access_token"])["cnf"] == {"jkt": key.jkt}


@pytest.mark.parametrize("problem, expected", [
    ("missing ath", "invalid_dpop_proof"),
    ("ath of another token", "invalid_dpop_proof"),
    ("ath not in ASCII", "invalid_dpop_proof"),
    ("no proof", "invalid_dpop_proof"),
    ("another key", "invalid_token"),
    ("proof for the token endpoint", "invalid_dpop_proof"),
])
def test_userinfo_refuses_a_bound_token_without_the_right_proof(app, acme, problem, expected):
    key = DPoPKey()
    token = _redeem(_login(app, acme["spa"]), key).get_json()["access_token"]
    proofs = {
        "missing ath": key.proof("GET", USERINFO_URL),
        "ath of another token": key.proof("GET", USERINFO_URL, access_token="another"),
        "ath not in ASCII": key.proof("GET", USERINFO_URL, ath="é"),
        "no proof": None,
        "another key": DPoPKey().proof("GET", USERINFO_URL, access_token=token),
        "proof for the token endpoint": key.proof(access_token=token),
    }

    response = _userinfo(app.test_client(), token, proofs[problem])

    assert response.status_code == 401
    assert response.get_json()["error"] == expected
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'DPoP error="{expected}"') and 'algs="ES256 RS256 PS256 EdDSA"' in challenge


def test_a_bearer_token_is_not_taken_with_the_dpop_scheme(app, acme):
    token = _redeem(_login(app, acme["spa"]), None).get_json()["access_token"]
    key = DPoPKey()
    response = _userinfo(app.test_client(), token, key.proof("GET", USERINFO_URL, access_token=token))
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_token"


def test_a_refresh_token_bound_to_a_key_is_refused_with_another_key_and_still_works_with_its_own(app, acme):
    """RFC 9449 §5: a public app's refresh token is bound to its key. Someone who stole the token
    but not the key is refused, and that is not taken as a reuse of the token: the app that holds
    the key keeps its session."""
    key = DPoPKey()
    tokens = _redeem(_login(app, acme["spa"]), key).get_json()
    http = app.test_client()

    with_another_key = _refresh(http, acme["spa"], tokens["refresh_token"], DPoPKey())
    without_a_proof = _refresh(http, acme["spa"], tokens["refresh_token"], None)
    with_its_key = _refresh(http, acme["spa"], tokens["refresh_token"], key)

    assert (with_another_key.status_code, with_another_key.get_json()["error"]) == (400, "invalid_grant")
    assert (without_a_proof.status_code, without_a_proof.get_json()["error"]) == (400, "invalid_dpop_proof")
    assert with_its_key.status_code == 200, with_its_key.get_json()
    info = _userinfo(http, with_its_key.get_json()["access_token"],
                     key.proof("GET", USERINFO_URL, access_token=with_its_key.get_json()["access_token"]))
    assert info.status_code == 200


def test_an_unbound_refresh_token_of_a_confidential_app_may_move_to_a_new_key(app, acme):
    """RFC 9449 §5: a confidential client's refresh token is constrained by its authentication,
    not bound to the key; each new access token is bound to the proof that came with it."""
    first_key, second_key = DPoPKey(), DPoPKey()
    web_id, web_secret = acme["web"]
    tokens = _redeem(_login(app, web_id, web_secret), first_key).get_json()

    refreshed = app.test_client().post(
        "/realms/acme/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(web_id, web_secret), headers={"DPoP": second_key.proof()})

    assert refreshed.status_code == 200, refreshed.get_json()
    assert _claims(refreshed.get_json()["access_token"])["cnf"] == {"jkt": second_key.jkt}


def test_a_code_requested_for_a_key_is_redeemed_only_with_that_key(app, acme):
    """RFC 9449 §10: ``dpop_jkt`` at the authorization endpoint binds the code; a code stolen on
    its way back cannot be redeemed without the key, and stays usable by the app."""
    key = DPoPKey()
    login = _login(app, acme["spa"], dpop_jkt=key.jkt)

    assert (_redeem(login, None).get_json()["error"]) == "invalid_dpop_proof"
    assert (_redeem(login, DPoPKey()).get_json()["error"]) == "invalid_grant"
    response = _redeem(login, key)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["token_type"] == "DPoP"


def test_a_pushed_request_with_a_proof_binds_the_code_to_its_key(app, acme):
    key = DPoPKey()
    verifier, challenge = pkce_pair()
    http = app.test_client()
    pushed = http.post("/realms/acme/par", data={
        "response_type": "code", "client_id": acme["spa"], "redirect_uri": "http://127.0.0.1:9999/callback",
        "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256",
    }, headers={"DPoP": key.proof(htu=f"{ISSUER}/par")})
    assert pushed.status_code == 201, pushed.get_json()

    login = HostedLogin(app.test_client(), "acme", acme["spa"])
    login.verifier = verifier
    login.get(f"/realms/acme/authorize?client_id={acme['spa']}&request_uri={pushed.get_json()['request_uri']}")
    login.log_in()

    assert _redeem(login, DPoPKey()).get_json()["error"] == "invalid_grant"
    assert _redeem(login, key).status_code == 200


def test_a_pushed_request_object_with_a_proof_binds_the_code_to_its_key_too(app, acme, factory):
    """The proof's key binds the code whatever carries the parameters: a push of a signed request
    object (whose parameters replace the form's) is bound like a plain one."""
    from idp.extensions import db
    from idp.models import Realm

    from .jwt_clients import new_key, public_jwks, sign

    signing_key, key = new_key("ES256"), DPoPKey()
    realm = db.session.scalar(db.select(Realm).filter_by(name="acme"))
    client_id, secret = factory.client(realm, name="Shop", jwks=public_jwks(signing_key))
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.verifier, challenge = pkce_pair()
    now = int(time.time())
    request_object = sign({"iss": client_id, "aud": ISSUER, "client_id": client_id, "response_type": "code",
                           "redirect_uri": login.redirect_uri, "scope": "openid", "state": "s",
                           "code_challenge": challenge, "code_challenge_method": "S256", "exp": now + 300},
                          signing_key, "ES256")
    pushed = app.test_client().post("/realms/acme/par", data={"request": request_object}, auth=(client_id, secret),
                                    headers={"DPoP": key.proof(htu=f"{ISSUER}/par")})
    assert pushed.status_code == 201, pushed.get_json()

    login.get(f"/realms/acme/authorize?client_id={client_id}&request_uri={pushed.get_json()['request_uri']}")
    login.log_in()

    assert _redeem(login, DPoPKey()).get_json()["error"] == "invalid_grant"
    assert _redeem(login, None).get_json()["error"] == "invalid_dpop_proof"
    assert _redeem(login, key).status_code == 200


def test_a_push_whose_dpop_jkt_is_not_its_proofs_key_is_refused(app, acme):
    key = DPoPKey()
    verifier, challenge = pkce_pair()
    pushed = app.test_client().post("/realms/acme/par", data={
        "response_type": "code", "client_id": acme["spa"], "redirect_uri": "http://127.0.0.1:9999/callback",
        "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256",
        "dpop_jkt": DPoPKey().jkt,
    }, headers={"DPoP": key.proof(htu=f"{ISSUER}/par")})
    assert (pushed.status_code, pushed.get_json()["error"]) == (400, "invalid_dpop_proof")


def _service_of(app) -> tuple[str, str]:
    """A client_credentials client in realm acme of ``app``: its id and secret."""
    with app.app_context():
        from idp.extensions import db
        from idp.services.clients import create_client
        from idp.services.realms import create_realm, find_realm

        realm = find_realm("acme") or create_realm("acme")
        client, secret = create_client(realm, name="Service", redirect_uris=[], grant_types=["client_credentials"])
        db.session.commit()
        return client.client_id, secret


@pytest.fixture
def nonce_app(make_app):
    app = make_app(tokens={"dpop_require_nonce": True})
    return app, _service_of(app)


def test_when_the_server_requires_nonces_a_proof_without_one_gets_a_nonce_to_retry_with(nonce_app):
    app, credentials = nonce_app
    key = DPoPKey()
    http = app.test_client()

    def token(proof):
        return http.post("/realms/acme/token", data={"grant_type": "client_credentials"}, auth=credentials,
                         headers={"DPoP": proof})

    first = token(key.proof())
    assert (first.status_code, first.get_json()["error"]) == (400, "use_dpop_nonce")
    nonce = first.headers["DPoP-Nonce"]

    assert token(key.proof(nonce="made-up")).get_json()["error"] == "use_dpop_nonce"
    assert token(key.proof(nonce="prêt")).get_json()["error"] == "use_dpop_nonce"
    retried = token(key.proof(nonce=nonce))
    assert retried.status_code == 200, retried.get_json()
    assert retried.headers["DPoP-Nonce"], "every DPoP answer carries the current nonce"
    access_token = retried.get_json()["access_token"]

    introspected = http.post("/realms/acme/introspect", data={"token": access_token}, auth=credentials,
                             headers={"DPoP": key.proof(htu=f"{ISSUER}/introspect")})
    assert introspected.get_json()["error"] == "use_dpop_nonce" and introspected.headers["DPoP-Nonce"]


def test_a_nonce_from_any_worker_is_accepted_until_it_grows_stale(nonce_app):
    from idp.oidc import dpop

    app, _credentials = nonce_app
    with app.test_request_context():
        from idp.services.realms import find_realm

        realm = find_realm("acme")
        nonce = dpop.current_nonce(realm)
        assert dpop.nonce_is_fresh(realm, nonce)
        stale_slot = int(time.time()) // dpop.NONCE_PERIOD - 2
        assert not dpop.nonce_is_fresh(realm, dpop._nonce_for(realm, stale_slot))


def test_userinfo_asks_for_a_nonce_with_a_dpop_challenge(make_app):
    app = make_app(tokens={"dpop_require_nonce": True})
    with app.app_context():
        from idp.extensions import db
        from idp.services.clients import create_client
        from idp.services.realms import create_realm, find_realm
        from idp.services.users import create_user

        from ..helpers import PASSWORD

        realm = find_realm("acme") or create_realm("acme")
        create_user(realm, email="alice@example.com", password=PASSWORD)
        client, _ = create_client(realm, name="SPA", public=True, redirect_uris=["http://127.0.0.1:9999/callback"])
        db.session.commit()
        spa = client.client_id
    key = DPoPKey()
    login = _login(app, spa)
    nonce = _redeem(login, key).headers["DPoP-Nonce"]  # use_dpop_nonce: the code stays unspent

    data = {"grant_type": "authorization_code", "code": login.callback_params()["code"],
            "redirect_uri": login.redirect_uri, "code_verifier": login.verifier, "client_id": spa}
    token = login.http.post("/realms/acme/token", data=data, headers={"DPoP": key.proof(nonce=nonce)}).get_json()

    response = _userinfo(app.test_client(), token["access_token"],
                         key.proof("GET", USERINFO_URL, access_token=token["access_token"]))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="use_dpop_nonce"')
    assert response.headers["DPoP-Nonce"]


def test_introspection_tells_a_resource_server_the_key_a_token_is_bound_to(app, acme):
    key = DPoPKey()
    http = app.test_client()
    token = _service_token(http, acme, key.proof()).get_json()["access_token"]

    answer = http.post("/realms/acme/introspect", data={"token": token}, auth=acme["service"],
                       headers={"DPoP": DPoPKey().proof(htu=f"{ISSUER}/introspect")}).get_json()

    assert answer["active"] and answer["token_type"] == "DPoP" and answer["cnf"] == {"jkt": key.jkt}
    bad_proof = http.post("/realms/acme/introspect", data={"token": token}, auth=acme["service"],
                          headers={"DPoP": DPoPKey().proof()})
    assert bad_proof.get_json()["error"] == "invalid_dpop_proof"


def test_a_client_that_requires_dpop_never_gets_a_bearer_token(app, acme, runner):
    service_id, _secret = acme["service"]
    result = runner("clients", "set", service_id, "--realm", "acme", "--dpop-required", "on", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["dpop_required"] is True
    http = app.test_client()

    refused = _service_token(http, acme)
    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_dpop_proof")
    assert _service_token(http, acme, DPoPKey().proof()).get_json()["token_type"] == "DPoP"


def test_a_public_app_that_requires_dpop_is_refused_before_its_code_is_spent(app, acme, runner):
    assert runner("clients", "set", acme["spa"], "--realm", "acme", "--dpop-required", "on").exit_code == 0
    key = DPoPKey()
    login = _login(app, acme["spa"])

    assert _redeem(login, None).get_json()["error"] == "invalid_dpop_proof"
    assert _redeem(login, key).status_code == 200


def test_seen_proofs_are_purged_once_their_window_has_passed(app, acme):
    import datetime as dt

    from idp.extensions import db
    from idp.models import utcnow
    from idp.oidc.dpop import DPoPProofRecord
    from idp.services.purge import purge_expired

    _service_token(app.test_client(), acme, DPoPKey().proof())
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(DPoPProofRecord)) == 1
        db.session.execute(db.update(DPoPProofRecord).values(expires_at=utcnow() - dt.timedelta(hours=1)))
        db.session.commit()
        assert purge_expired(app.extensions["idp.settings"])["dpop_proofs"] == 1


def test_when_too_many_proofs_are_remembered_new_ones_wait(make_app):
    app = make_app(tokens={"dpop_max_remembered_proofs": 1})
    credentials = _service_of(app)
    http = app.test_client()
    key = DPoPKey()

    def token():
        return http.post("/realms/acme/token", data={"grant_type": "client_credentials"},
                         auth=credentials, headers={"DPoP": key.proof()})

    assert token().status_code == 200
    app.extensions["idp.dpop_proof_cap"]["checked_at"] = 0.0  # the next request counts again
    full = token()
    assert full.status_code == 503 and full.get_json()["error"] == "temporarily_unavailable"


def test_one_network_cannot_fill_the_proof_store_through_a_public_client(make_app):
    """A public client's ``client_id`` is public: anyone can send token requests under it with a
    fresh proof and a made-up code, and each proof is remembered (before the code is looked at, so
    a replay is refused first). Those proofs count against the sender's network; confidential
    clients, which authenticate first, do not."""
    from idp.oidc.dpop import DPoPProofRecord

    app = make_app(tokens={"dpop_public_client_rate_limit": "2 per minute"})
    service = _service_of(app)
    with app.app_context():
        from idp.extensions import db
        from idp.services.clients import create_client
        from idp.services.realms import find_realm

        spa, _ = create_client(find_realm("acme"), name="SPA", public=True,
                               redirect_uris=["https://spa.example/callback"])
        db.session.commit()
        spa_id = spa.client_id
    http = app.test_client()

    def made_up_code():
        return http.post("/realms/acme/token", headers={"DPoP": DPoPKey().proof()}, data={
            "grant_type": "authorization_code", "code": "made-up", "client_id": spa_id,
            "redirect_uri": "https://spa.example/callback", "code_verifier": "v" * 43})

    assert [made_up_code().status_code for _ in range(2)] == [400, 400]
    refused = made_up_code()
    assert refused.status_code == 429 and refused.get_json()["error"] == "temporarily_unavailable"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(DPoPProofRecord)) == 2
    for _ in range(3):  # a confidential client's proofs are not counted
        answered = http.post("/realms/acme/token", data={"grant_type": "client_credentials"},
                             auth=service, headers={"DPoP": DPoPKey().proof()})
        assert answered.status_code == 200


def test_a_dpop_rate_limit_that_does_not_parse_stops_start_up(make_app):
    from idp.config import ConfigError

    with pytest.raises(ConfigError, match="tokens.dpop_public_client_rate_limit"):
        make_app(tokens={"dpop_public_client_rate_limit": "lots"})


def test_a_tv_polling_with_a_proof_gets_tokens_bound_to_its_key_and_refreshes_with_it(app, factory, acme):
    """The device grant (RFC 8628) with DPoP: the device proves its key when it polls."""
    from .test_device_flow import DEVICE_GRANT, Tv, _forget_last_poll, _user_enters_code

    with app.app_context():
        from idp.services.realms import find_realm

        tv_id, _ = factory.client(find_realm("acme"), name="TV", public=True,
                                  grant_types=["refresh_token", DEVICE_GRANT])
    key = DPoPKey()
    tv = Tv(app.test_client(), tv_id)
    codes = tv.start()
    phone = _user_enters_code(app, codes["user_code"])
    phone.submit({"decision": "allow"})
    _forget_last_poll(app)

    polled = app.test_client().post("/realms/acme/token", data={
        "grant_type": DEVICE_GRANT, "device_code": codes["device_code"], "client_id": tv_id},
        headers={"DPoP": key.proof()})

    assert polled.status_code == 200, polled.get_json()
    tokens = polled.get_json()
    assert tokens["token_type"] == "DPoP" and _claims(tokens["access_token"])["cnf"] == {"jkt": key.jkt}
    assert _refresh(app.test_client(), tv_id, tokens["refresh_token"], DPoPKey()).get_json()["error"] == \
        "invalid_grant"
    assert _refresh(app.test_client(), tv_id, tokens["refresh_token"], key).status_code == 200
