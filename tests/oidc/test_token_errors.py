"""Bad token requests, each answered with the RFC 6749 §5.2 error code and never a 500: codes are
single-use, expire, are bound to their client, redirect_uri and PKCE verifier; clients must
authenticate as registered."""
from __future__ import annotations

import base64
import datetime as dt

import pytest

from .conftest import REALM, REDIRECT, log_in_with_test_client, pkce_pair, redeem_code

TOKEN_URL = f"/realms/{REALM}/token"


@pytest.fixture
def confidential(factory, realm):
    return factory.client(realm, redirect_uri=REDIRECT)


@pytest.fixture
def public(factory, realm):
    client_id, _ = factory.client(realm, redirect_uri=REDIRECT, public=True)
    return client_id


@pytest.fixture
def code(client, confidential):
    """A fresh authorization code of the confidential client and its PKCE verifier."""
    params, verifier = log_in_with_test_client(client, confidential[0])
    return params["code"], verifier


def _bearer(client, access_token):
    return client.get(f"/realms/{REALM}/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def _assert_error(response, status: int, error: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def test_replayed_code_is_rejected_and_revokes_the_tokens_it_issued(client, confidential, code):
    client_id, secret = confidential
    first = redeem_code(client, client_id, secret, *code)
    assert first.status_code == 200
    tokens = first.get_json()
    assert _bearer(client, tokens["access_token"]).status_code == 200

    replay = redeem_code(client, client_id, secret, *code)

    _assert_error(replay, 400, "invalid_grant")
    assert _bearer(client, tokens["access_token"]).status_code == 401
    refresh = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                          auth=(client_id, secret))
    _assert_error(refresh, 400, "invalid_grant")


def test_replayed_code_also_revokes_tokens_refreshed_from_it(client, confidential, code):
    client_id, secret = confidential
    tokens = redeem_code(client, client_id, secret, *code).get_json()
    refreshed = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            auth=(client_id, secret)).get_json()
    assert _bearer(client, refreshed["access_token"]).status_code == 200

    _assert_error(redeem_code(client, client_id, secret, *code), 400, "invalid_grant")

    assert _bearer(client, refreshed["access_token"]).status_code == 401


def test_expired_code_is_rejected(client, confidential, code):
    from idp.extensions import db
    from idp.models import AuthorizationCode, utcnow

    db.session.execute(db.update(AuthorizationCode).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()

    _assert_error(redeem_code(client, *confidential, *code), 400, "invalid_grant")


def test_code_lives_for_the_configured_lifetime(make_app, factory, realm):
    """The code lifetime comes from ``tokens.authorization_code_lifetime`` (default 60 s)."""
    from idp.extensions import db
    from idp.models import AuthorizationCode

    client_id, _secret = factory.client(realm, redirect_uri=REDIRECT)
    app = make_app(tokens={"authorization_code_lifetime": 7})
    test_client = app.test_client()
    params, _verifier = log_in_with_test_client(test_client, client_id)
    with app.app_context():
        row = db.session.scalars(db.select(AuthorizationCode)).one()
        assert (row.expires_at - row.issued_at).total_seconds() == pytest.approx(7, abs=1)
    assert params["code"]


@pytest.mark.parametrize(("change", "error"), [
    pytest.param({"code_verifier": pkce_pair()[0]}, "invalid_grant", id="another code_verifier-invalid_grant"),
    ({"code_verifier": None}, "invalid_request"),
    ({"code_verifier": "short"}, "invalid_request"),
    ({"redirect_uri": "http://127.0.0.1:9999/elsewhere"}, "invalid_grant"),
    ({"redirect_uri": None}, "invalid_grant"),
    ({"code": "not-a-code"}, "invalid_grant"),
    ({"code": None}, "invalid_request"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
    ({"grant_type": None}, "unsupported_grant_type"),
], ids=lambda v: str(v))
def test_bad_code_redemption_is_answered_with_the_spec_error(client, confidential, code, change, error):
    _assert_error(redeem_code(client, *confidential, *code, **change), 400, error)


def test_a_failed_pkce_check_burns_the_code(client, confidential, code):
    client_id, secret = confidential
    _assert_error(redeem_code(client, client_id, secret, code[0], pkce_pair()[0]), 400, "invalid_grant")
    _assert_error(redeem_code(client, client_id, secret, *code), 400, "invalid_grant")


def test_a_code_cannot_be_redeemed_by_another_client(client, factory, realm, code):
    other_id, other_secret = factory.client(realm, redirect_uri=REDIRECT)
    _assert_error(redeem_code(client, other_id, other_secret, *code), 400, "invalid_grant")


def test_public_client_redeems_its_code_with_the_verifier_alone(client, public):
    params, verifier = log_in_with_test_client(client, public)
    response = client.post(TOKEN_URL, data={"grant_type": "authorization_code", "code": params["code"],
                                            "redirect_uri": REDIRECT, "code_verifier": verifier, "client_id": public})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_public_client_without_verifier_is_refused(client, public):
    params, _verifier = log_in_with_test_client(client, public)
    response = client.post(TOKEN_URL, data={"grant_type": "authorization_code", "code": params["code"],
                                            "redirect_uri": REDIRECT, "client_id": public})
    _assert_error(response, 400, "invalid_request")


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


CLIENT_AUTH_FAILURES = [
    # (how the client authenticates, expected status)
    ("basic with wrong secret", 401),
    ("basic of unknown client", 401),
    ("post with wrong secret", 401),
    ("client_id only for a confidential client", 401),
    ("no client at all", 401),
]


@pytest.mark.parametrize(("how", "status"), CLIENT_AUTH_FAILURES, ids=[h for h, _ in CLIENT_AUTH_FAILURES])
def test_failed_client_authentication_is_invalid_client(client, confidential, code, how, status):
    client_id, secret = confidential
    data = {"grant_type": "authorization_code", "code": code[0], "redirect_uri": REDIRECT, "code_verifier": code[1]}
    headers = {}
    if how == "basic with wrong secret":
        headers = _basic(client_id, "wrong")
    elif how == "basic of unknown client":
        headers = _basic("nobody", secret)
    elif how == "post with wrong secret":
        data.update(client_id=client_id, client_secret="wrong")
    elif how == "client_id only for a confidential client":
        data.update(client_id=client_id)

    response = client.post(TOKEN_URL, data=data, headers=headers)

    _assert_error(response, status, "invalid_client")
    if how.startswith("basic"):
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_client_secret_post_is_accepted(client, confidential, code):
    client_id, secret = confidential
    response = redeem_code(client, None, None, *code, client_id=client_id, client_secret=secret)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_token_endpoint_rejects_get(client):
    response = client.get(TOKEN_URL)
    assert response.status_code == 405


def test_tokens_are_not_cached(client, confidential, code):
    response = redeem_code(client, *confidential, *code)
    assert response.headers["Cache-Control"] == "no-store"


def test_browser_app_may_call_the_token_endpoint_from_its_registered_origin(app, client):
    from tests.helpers import Factory

    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        factory.client(realm, redirect_uri="https://spa.example.com/callback", public=True)
    preflight = client.options("/realms/acme/token", headers={
        "Origin": "https://spa.example.com", "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://spa.example.com"
    other = client.options("/realms/acme/token", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in other.headers
