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


def test_userinfo_takes_the_token_in_a_form_encoded_post_body(provider, token):
    """RFC 6750 §2.2: ``access_token`` in an ``application/x-www-form-urlencoded`` body."""
    response = requests.post(provider.url("userinfo"), data={"access_token": token["access_token"]}, timeout=5)
    assert response.status_code == 200
    assert response.json()["sub"] == token["userinfo"]["sub"]


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "no token"),
    ({"Authorization": "Basic YTpi"}, "another scheme: no bearer token either"),
])
def test_userinfo_without_a_token_gets_the_bare_challenge(provider, token, headers, reason):
    """RFC 6750 §3.1: a request that lacks any authentication information gets no error code;
    the DPoP challenge beside it names the proof algorithms accepted (RFC 9449 §7.1)."""
    response = requests.get(provider.url("userinfo"), headers=headers, timeout=5)
    assert response.status_code == 401, reason
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="{provider.issuer}", DPoP algs="ES256 RS256 PS256 EdDSA"'), reason
    assert response.content == b"", reason


def test_a_token_in_the_query_string_is_not_taken(provider, token):
    """RFC 6750 §2.3 (URI query parameter) is the one way that leaks tokens into logs; OpenID
    Connect does not ask for it."""
    response = requests.get(provider.url("userinfo"), params={"access_token": token["access_token"]}, timeout=5)
    assert response.status_code == 401 and "error=" not in response.headers["WWW-Authenticate"]


def test_a_garbage_token_is_invalid_token(provider, token):
    response = requests.get(provider.url("userinfo"), headers=_bearer("not-a-jwt"), timeout=5)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("send", "reason"), [
    ({"headers": {"Authorization": "Bearer {token}"}, "data": {"access_token": "{token}"}}, "header and body"),
    ({"data": [("access_token", "{token}"), ("access_token", "{token}")]}, "twice in the body"),
    ({"headers": {"Authorization": "Bearer "}}, "the Bearer scheme without a token"),
])
def test_a_token_sent_more_than_once_or_malformed_is_invalid_request(provider, token, send, reason):
    """RFC 6750 §2: clients MUST NOT use more than one method to send the token."""
    def fill(value):
        if isinstance(value, str):
            return value.format(token=token["access_token"])
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return [(k, fill(v)) for k, v in value]

    response = requests.post(provider.url("userinfo"), timeout=5, **{k: fill(v) for k, v in send.items()})
    assert response.status_code == 400, reason
    assert response.json()["error"] == "invalid_request", reason
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"], reason


@pytest.mark.parametrize("endpoint", ["userinfo", "introspect"])
def test_browser_apps_may_call_userinfo_and_introspection_from_a_registered_origin(provider, token, endpoint):
    """The origin of a registered redirect URI (the relying app's http://localhost) gets CORS
    headers on the preflight and on the answer; any other origin gets none."""
    preflight = requests.options(provider.url(endpoint), timeout=5, headers={
        "Origin": "http://localhost", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Origin" in preflight.headers["Vary"]
    stranger = requests.options(provider.url(endpoint), timeout=5, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert not any(h.startswith("Access-Control-") for h in stranger.headers)


def test_userinfo_answers_a_registered_origin_and_no_other(provider, token):
    answer = requests.get(provider.url("userinfo"), headers={**_bearer(token["access_token"]),
                                                             "Origin": "http://localhost"}, timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost"
    assert "WWW-Authenticate" in answer.headers["Access-Control-Expose-Headers"]
    stranger = requests.get(provider.url("userinfo"), headers={**_bearer(token["access_token"]),
                                                               "Origin": "http://evil.example"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in stranger.headers


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
