import base64
import hashlib
import secrets

from ..helpers import PASSWORD, csrf_token, query_params

REDIRECT = "http://127.0.0.1:9999/callback"


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def test_user_logs_in_with_password_and_app_gets_tokens(app, client, factory):
    realm = factory.realm("acme")
    client_id, secret = factory.client(realm)
    factory.user(realm)
    verifier, challenge = pkce_pair()
    response = client.get("/realms/acme/authorize", query_string={
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
        "scope": "openid profile email offline_access", "state": "st4te", "nonce": "n0nce",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert response.status_code == 302, response.get_data(as_text=True)
    login_url = response.location
    page = client.get(login_url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Log in" in text
    response = client.post(login_url, data={"csrf_token": csrf_token(text), "email": "alice@example.com",
                                            "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    params = query_params(response.location)
    assert params["state"] == "st4te"
    token = client.post("/realms/acme/token", data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier}, auth=(client_id, secret))
    assert token.status_code == 200, token.get_data(as_text=True)
    body = token.get_json()
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
    info = client.get("/realms/acme/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200, info.get_data(as_text=True)
    assert info.get_json()["email"] == "alice@example.com"
