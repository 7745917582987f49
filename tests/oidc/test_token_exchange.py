"""Token Exchange (RFC 8693): an API that received a user's access token exchanges it for one to
call another API for that user; the new token says who acts (``act``) and can only narrow."""
from __future__ import annotations

import base64
import json

import pytest

from ..helpers import PASSWORD, csrf_token, query_params
from .conftest import (
    REALM,
    REDIRECT,
    authorize_params,
    log_in_with_test_client,
    pkce_pair,
)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


def claims_of(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def apps(factory, realm):
    """A web app the user logs in to, the API it calls (allowed to exchange, and its resource
    server), and a second API the first one calls for the user (the first API's resource server)."""
    web_id, web_secret = factory.client(realm, redirect_uri=REDIRECT, name="Web")
    api_id, api_secret = factory.client(realm, redirect_uri="https://api.example/unused", name="Orders API",
                                        grant_types=["authorization_code", TOKEN_EXCHANGE],
                                        resource_server_for=[web_id])
    billing_id, _ = factory.client(realm, redirect_uri="https://billing.example/unused", name="Billing API",
                                   resource_server_for=[api_id])
    return {"web": (web_id, web_secret), "api": (api_id, api_secret), "billing": billing_id}


def user_access_token(client, web_id, web_secret, scope="openid profile email offline_access") -> dict:
    params, verifier = log_in_with_test_client(client, web_id, scope=scope)
    response = client.post(f"/realms/{REALM}/token", data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier}, auth=(web_id, web_secret))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def exchange(client, auth, subject_token, **extra):
    data = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token, "subject_token_type": ACCESS_TOKEN}
    data.update(extra)
    return client.post(f"/realms/{REALM}/token", data={k: v for k, v in data.items() if v is not None}, auth=auth)


def test_an_api_exchanges_the_users_token_for_a_narrower_one_that_says_it_acts_for_them(client, apps):
    web_tokens = user_access_token(client, *apps["web"])
    subject = claims_of(web_tokens["access_token"])

    response = exchange(client, apps["api"], web_tokens["access_token"], audience=apps["billing"], scope="openid email")

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["issued_token_type"] == ACCESS_TOKEN and body["token_type"] == "Bearer"
    assert "refresh_token" not in body and body["scope"] == "openid email"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == subject["sub"] and claims["client_id"] == apps["api"][0]
    assert claims["act"] == {"sub": apps["api"][0], "client_id": apps["api"][0]}
    assert claims["aud"] == apps["billing"] and claims["exp"] <= subject["exp"]
    introspected = client.post(f"/realms/{REALM}/introspect", data={"token": body["access_token"]},
                               auth=apps["api"]).get_json()
    assert introspected["active"] and introspected["act"]["sub"] == apps["api"][0]
    userinfo = client.get(f"/realms/{REALM}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert userinfo.status_code == 200 and userinfo.get_json()["sub"] == subject["sub"]


def test_an_actor_token_names_the_acting_party_and_a_second_exchange_nests_the_first(client, apps, factory, realm):
    web_tokens = user_access_token(client, *apps["web"])
    first = exchange(client, apps["api"], web_tokens["access_token"]).get_json()["access_token"]
    worker_id, worker_secret = factory.client(realm, redirect_uri="https://worker.example/cb", public=False,
                                              grant_types=["client_credentials"], name="Worker")
    actor = client.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"},
                        auth=(worker_id, worker_secret)).get_json()["access_token"]

    second = exchange(client, apps["api"], first, actor_token=actor, actor_token_type=ACCESS_TOKEN)

    assert second.status_code == 200, second.get_json()
    act = claims_of(second.get_json()["access_token"])["act"]
    assert act["sub"] == worker_id and act["act"] == {"sub": apps["api"][0], "client_id": apps["api"][0]}


def test_revoking_the_users_grant_ends_the_exchanged_tokens_too(client, apps):
    web_tokens = user_access_token(client, *apps["web"])
    exchanged = exchange(client, apps["api"], web_tokens["access_token"]).get_json()["access_token"]

    client.post(f"/realms/{REALM}/revoke", data={"token": web_tokens["refresh_token"]}, auth=apps["web"])

    userinfo = client.get(f"/realms/{REALM}/userinfo", headers={"Authorization": f"Bearer {exchanged}"})
    assert userinfo.status_code == 401


@pytest.mark.parametrize("case, error", [
    ("scope beyond the subject token's", "invalid_scope"),
    ("an unknown audience", "invalid_target"),
    ("an audience that does not serve the API", "invalid_target"),
    ("a resource URI", "invalid_target"),
    ("a refresh token as subject", "invalid_request"),
    ("an id token type", "invalid_request"),
    ("no subject token", "invalid_request"),
    ("a token the API does not serve", "invalid_request"),
    ("a revoked subject token", "invalid_request"),
])
def test_an_exchange_that_would_widen_or_names_a_bad_token_is_refused(client, apps, factory, realm, case, error):
    web_tokens = user_access_token(client, *apps["web"], scope="openid email offline_access")
    token = web_tokens["access_token"]
    extra = {}
    if case == "scope beyond the subject token's":
        extra["scope"] = "openid profile"
    elif case == "an unknown audience":
        extra["audience"] = "nobody"
    elif case == "an audience that does not serve the API":
        extra["audience"] = apps["web"][0]
    elif case == "a resource URI":
        extra["resource"] = "https://billing.example/"
    elif case == "a refresh token as subject":
        token = web_tokens["refresh_token"]
    elif case == "an id token type":
        extra["subject_token_type"] = "urn:ietf:params:oauth:token-type:id_token"
    elif case == "no subject token":
        token = None
    elif case == "a token the API does not serve":
        other_id, other_secret = factory.client(realm, redirect_uri=REDIRECT, name="Other web app")
        token = user_access_token(client, other_id, other_secret)["access_token"]
    elif case == "a revoked subject token":
        client.post(f"/realms/{REALM}/revoke", data={"token": token}, auth=apps["web"])

    response = exchange(client, apps["api"], token, **extra)

    assert response.status_code == 400 and response.get_json()["error"] == error, response.get_json()


def test_a_client_not_allowed_to_exchange_is_refused(client, apps):
    web_tokens = user_access_token(client, *apps["web"])

    response = exchange(client, apps["web"], web_tokens["access_token"])

    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"


def test_a_token_of_another_realm_is_not_a_subject_token_here(client, apps, factory):
    other = factory.realm("globex")
    factory.user(other, email="alice@example.com")
    web_id, web_secret = factory.client(other, redirect_uri=REDIRECT, name="Globex web")
    verifier, challenge = pkce_pair()
    response = client.get("/realms/globex/authorize", query_string=authorize_params(web_id, challenge))
    page = client.get(response.location).get_data(as_text=True)
    response = client.post(response.location, data={"csrf_token": csrf_token(page), "email": "alice@example.com",
                                                     "password": PASSWORD})
    params = query_params(response.location)
    foreign = client.post("/realms/globex/token", data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier}, auth=(web_id, web_secret)).get_json()["access_token"]

    response = exchange(client, apps["api"], foreign)

    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_public_clients_cannot_hold_the_token_exchange_grant(ctx, realm):
    from idp.services import ServiceError
    from idp.services.clients import create_client

    with pytest.raises(ServiceError, match="public clients cannot use token exchange"):
        create_client(realm, name="SPA", redirect_uris=[REDIRECT], public=True,
                      grant_types=["authorization_code", TOKEN_EXCHANGE])
