"""A NUL character anywhere a caller can put one -- the path, the query, a form, credentials --
is a 400, never a 500: PostgreSQL refuses NUL in any text it is asked to compare, so one byte
used to turn every lookup into a server error (CI runs this file on PostgreSQL too)."""
from __future__ import annotations

import pytest

from .flows import REDIRECT_URI, HostedLogin

NUL = "a\x00b"


@pytest.fixture
def app_client(client, factory):
    realm = factory.realm("acme")
    client_id, secret = factory.client(realm)
    return client, client_id, secret


def test_nul_bytes_in_any_request_get_a_400_not_a_server_error(app_client):
    client, client_id, secret = app_client
    answers = {
        "realm in the path": client.get(f"/realms/{NUL}/.well-known/openid-configuration"),
        "authorize realm": client.get(f"/realms/{NUL}/authorize"),
        "client_credentials": client.post("/realms/acme/token", data={
            "grant_type": "client_credentials", "client_id": NUL, "client_secret": NUL}),
        "refresh token": client.post("/realms/acme/token", data={"grant_type": "refresh_token",
                                                                  "refresh_token": "rt_" + NUL}, auth=(client_id, secret)),
        "code": client.post("/realms/acme/token", data={"grant_type": "authorization_code", "code": NUL,
                                                         "redirect_uri": REDIRECT_URI, "code_verifier": NUL},
                            auth=(client_id, secret)),
        "basic credentials": client.post("/realms/acme/token", auth=(NUL, NUL),
                                         data={"grant_type": "client_credentials"}),
        "revoke": client.post("/realms/acme/revoke", data={"token": NUL}, auth=(client_id, secret)),
        "introspect": client.post("/realms/acme/introspect", data={"token": "rt_" + NUL}, auth=(client_id, secret)),
        "bearer": client.get("/realms/acme/userinfo", headers={"Authorization": "Bearer " + NUL}),
        "login transaction": client.get(f"/realms/acme/login/{NUL}"),
        "mailed link": client.get(f"/realms/acme/verify-email/{NUL}"),
        "reset link": client.get(f"/realms/acme/reset-password/{NUL}"),
        "api key": client.get("/api/v1/realms/acme/users", headers={"Authorization": "Bearer idpk_" + NUL}),
        "logout hint": client.get("/realms/acme/logout", query_string={"id_token_hint": NUL}),
        "social callback": client.get("/realms/acme/social/callback", query_string={"state": NUL}),
    }
    login = HostedLogin(client, "acme", client_id, secret)
    login.authorize()
    answers["login form"] = login.log_in(NUL + "@example.com", NUL)
    answers["provider name"] = client.get(f"{login.page_url}/social/{NUL}")

    assert {name: answer.status_code for name, answer in answers.items() if answer.status_code >= 500} == {}
    assert answers["realm in the path"].status_code == 400
    assert answers["client_credentials"].status_code == 400
