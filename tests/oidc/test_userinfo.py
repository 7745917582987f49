"""/userinfo: GET and POST with a bearer access token of this realm that is still active."""
from __future__ import annotations

import pytest
import requests


@pytest.fixture
def token(provider, browser, relying_app):
    return relying_app().log_in(browser)["token"]


def _bearer(access_token: str) -> dict:
    return {"Authorization": f"Bearer {access_token}"}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_answers_get_and_post_with_a_bearer_token(provider, token, method):
    response = requests.request(method, provider.url("userinfo"), headers=_bearer(token["access_token"]), timeout=5)
    assert response.status_code == 200
    assert response.json()["sub"] == token["userinfo"]["sub"]


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "no token"),
    ({"Authorization": "Bearer not-a-jwt"}, "garbage token"),
    ({"Authorization": "Basic YTpi"}, "wrong scheme"),
])
def test_userinfo_without_a_valid_bearer_token_is_401_with_a_challenge(provider, token, headers, reason):
    response = requests.get(provider.url("userinfo"), headers=headers, timeout=5)
    assert response.status_code == 401, reason
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer"), reason


def test_revoked_access_token_is_refused_with_invalid_token(provider, relying_app, browser):
    rp = relying_app()
    token = rp.log_in(browser)["token"]
    provider.oauth_session(rp.client_id, rp.client_secret).revoke_token(provider.url("revoke"), token=token["access_token"])

    response = requests.get(provider.url("userinfo"), headers=_bearer(token["access_token"]), timeout=5)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_access_token_of_another_realm_is_refused(provider, token):
    provider.factory.realm("other")
    response = requests.get(f"{provider.server.url}/realms/other/userinfo", headers=_bearer(token["access_token"]), timeout=5)
    assert response.status_code == 401


def test_client_credentials_token_has_no_user_to_describe(provider):
    client_id, secret = provider.client(client_credentials=True)
    token = provider.oauth_session(client_id, secret).fetch_token(provider.url("token"), grant_type="client_credentials")
    response = requests.get(provider.url("userinfo"), headers=_bearer(token["access_token"]), timeout=5)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert response.json()["error"] == "insufficient_scope"


def test_token_of_a_disabled_user_stops_working(provider, token):
    from idp.extensions import db
    from idp.services.users import get_user

    get_user(provider.realm, "alice@example.com").disabled = True
    db.session.commit()

    response = requests.get(provider.url("userinfo"), headers=_bearer(token["access_token"]), timeout=5)

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
