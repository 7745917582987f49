"""An app sends its authorization request as a JWT it signed (RFC 9101), by value at
``/authorize`` or inside a pushed request: only what it signed is used. Unsigned, stale,
misaddressed or tampered request objects are refused before anything is shown, and a
``request_uri`` is only ever one of our own pushed requests."""
from __future__ import annotations

import html
import secrets
import time
from urllib.parse import urlencode

import pytest

from ..flows import REDIRECT_URI, HostedLogin, pkce_pair
from .jwt_clients import ISSUER, assertion_form, client_assertion, new_key, public_jwks, secret_key, sign, unsigned

KEY_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


@pytest.fixture
def realm(factory):
    realm = factory.realm("acme")
    factory.user(realm)
    return realm


def _request_claims(client, challenge, **changes):
    now = int(time.time())
    claims = {"iss": client, "aud": ISSUER, "client_id": client, "response_type": "code",
              "redirect_uri": REDIRECT_URI, "scope": "openid email", "state": secrets.token_urlsafe(8),
              "nonce": secrets.token_urlsafe(8), "code_challenge": challenge, "code_challenge_method": "S256",
              "max_age": 3600, "iat": now, "nbf": now, "exp": now + 300, **changes}
    return {k: v for k, v in claims.items() if v is not None}


def _login(app, client_id, secret=None):
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.verifier, challenge = pkce_pair()
    return login, challenge


@pytest.mark.parametrize("alg", KEY_ALGORITHMS)
def test_a_signed_request_object_is_what_the_login_answers(app, factory, realm, alg):
    key = new_key(alg)
    client_id, secret = factory.client(realm, name="Shop", jwks=public_jwks(key))
    login, challenge = _login(app, client_id, secret)
    claims = _request_claims(client_id, challenge)
    request_object = sign(claims, key, alg)

    outside = {"client_id": client_id, "request": request_object, "response_type": "code", "scope": "openid profile",
               "redirect_uri": "https://evil.example/cb", "state": "outer"}
    login.get(f"/realms/acme/authorize?{urlencode(outside)}")
    login.log_in()

    assert login.redirected_to_app, "the signed redirect URI, not the one outside"
    assert login.callback_params()["state"] == claims["state"]
    assert login.exchange_code()["scope"] == "openid email", "the signed scope, not the one outside"


def test_a_client_secret_jwt_client_may_sign_its_request_object_with_its_secret(app, factory, realm):
    client_id, secret = factory.client(realm, name="Shop", token_endpoint_auth_method="client_secret_jwt")
    login, challenge = _login(app, client_id)
    claims = _request_claims(client_id, challenge)

    login.get(f"/realms/acme/authorize?{urlencode({'client_id': client_id, 'request': sign(claims, secret_key(secret), 'HS256')})}")
    login.log_in()

    code = login.callback_params()["code"]
    token = app.test_client().post("/realms/acme/token", data=assertion_form(
        client_id, client_assertion(client_id, secret_key(secret), "HS256"), grant_type="authorization_code",
        code=code, redirect_uri=REDIRECT_URI, code_verifier=login.verifier))
    assert token.status_code == 200, token.get_json()


EXPECTED = {
    "unsigned": "must be signed with supported algorithms",
    "expired": "expired",
    "exp_far_ahead": "'exp' is more than 3600 seconds ahead",
    "no_exp": "Missing claim: 'exp'",
    "wrong_audience": "Invalid claim: 'aud'",
    "iss_not_the_client": "'iss' must be the client_id",
    "client_id_mismatch": "claims don't match",
    "another_key": "invalid Request Object",
    "nbf_in_the_future": "not yet valid",
    "nbf_too_old": "'nbf' is too old",
    "request_inside": "must not be included in the request object",
}


@pytest.mark.parametrize("tamper", list(EXPECTED))
def test_a_request_object_that_is_not_signed_fresh_and_ours_is_refused_on_an_error_page(app, factory, realm, tamper):
    key, other = new_key("ES256", kid="k1"), new_key("ES256", kid="k1")
    client_id, secret = factory.client(realm, name="Shop", jwks=public_jwks(key))
    login, challenge = _login(app, client_id, secret)
    now = int(time.time())
    changes = {
        "expired": {"exp": now - 120, "nbf": now - 600, "iat": now - 600},
        "exp_far_ahead": {"exp": now + 86400},
        "no_exp": {"exp": None},
        "wrong_audience": {"aud": "https://another-provider.example"},
        "iss_not_the_client": {"iss": "someone-else"},
        "client_id_mismatch": {"client_id": "someone-else"},
        "nbf_in_the_future": {"nbf": now + 3600},
        "nbf_too_old": {"nbf": now - 7200},
        "request_inside": {"request": "x.y.z"},
    }.get(tamper, {})
    claims = _request_claims(client_id, challenge, **changes)
    if tamper == "unsigned":
        request_object = unsigned(claims)
    else:
        request_object = sign(claims, other if tamper == "another_key" else key, "ES256")

    response = login.get(f"/realms/acme/authorize?{urlencode({'client_id': client_id, 'request': request_object})}")

    assert response.status_code == 400, "an error page: the redirect URI inside is not trusted"
    assert "Log in" not in login.page
    assert html.unescape(EXPECTED[tamper]) in html.unescape(login.page), login.page[:2000]


def test_a_request_uri_that_is_not_one_of_our_pushed_requests_is_not_fetched(app, factory, realm):
    client_id, secret = factory.client(realm, name="Shop")
    login, challenge = _login(app, client_id, secret)
    params = {"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid",
              "state": "s", "code_challenge": challenge, "code_challenge_method": "S256",
              "request_uri": "https://app.example/request.jwt"}

    response = login.get(f"/realms/acme/authorize?{urlencode(params)}")

    assert response.status_code == 302 and login.callback_params()["error"] == "request_uri_not_supported"


def _push(http, client_id, secret, **form):
    return http.post("/realms/acme/par", data={"client_id": client_id, **form}, auth=(client_id, secret))


def test_a_request_object_may_be_pushed_and_its_request_uri_works_once(app, factory, realm):
    key = new_key("PS256")
    client_id, secret = factory.client(realm, name="Shop", jwks=public_jwks(key))
    login, challenge = _login(app, client_id, secret)
    claims = _request_claims(client_id, challenge)

    pushed = _push(app.test_client(), client_id, secret, request=sign(claims, key, "PS256"))
    assert pushed.status_code == 201, pushed.get_json()
    request_uri = pushed.get_json()["request_uri"]
    login.get(f"/realms/acme/authorize?{urlencode({'client_id': client_id, 'request_uri': request_uri})}")
    login.log_in()

    assert login.callback_params()["state"] == claims["state"]
    assert login.exchange_code()["scope"] == "openid email"
    again = HostedLogin(app.test_client(), "acme", client_id)
    assert again.get(f"/realms/acme/authorize?{urlencode({'client_id': client_id, 'request_uri': request_uri})}"
                     ).status_code == 400, "a used request_uri is refused"


def test_an_unsigned_request_object_is_refused_at_the_push(app, factory, realm):
    key = new_key("RS256")
    client_id, secret = factory.client(realm, name="Shop", jwks=public_jwks(key))
    _, challenge = _login(app, client_id, secret)

    pushed = _push(app.test_client(), client_id, secret, request=unsigned(_request_claims(client_id, challenge)))

    assert pushed.status_code == 400 and pushed.get_json()["error"] in ("invalid_request", "invalid_request_object")


def test_a_client_that_must_sign_its_requests_cannot_send_a_plain_one(app, factory, realm):
    key = new_key("ES256")
    client_id, secret = factory.client(realm, name="Bank", jwks=public_jwks(key), require_signed_request_object=True)
    login, challenge = _login(app, client_id, secret)

    login.authorize()
    assert login.callback_params()["error"] == "invalid_request"
    plain_push = _push(app.test_client(), client_id, secret, response_type="code", redirect_uri=REDIRECT_URI,
                       scope="openid", code_challenge=challenge, code_challenge_method="S256")
    assert plain_push.status_code == 400 and plain_push.get_json()["error"] == "invalid_request"

    signed = HostedLogin(app.test_client(), "acme", client_id, secret)
    signed.verifier, challenge = pkce_pair()
    claims = _request_claims(client_id, challenge)
    signed.get(f"/realms/acme/authorize?{urlencode({'client_id': client_id, 'request': sign(claims, key, 'ES256')})}")
    signed.log_in()
    assert signed.callback_params()["state"] == claims["state"]
