"""What an administrator changes reaches every worker of every server on its next requests,
though each worker keeps realms, clients and signing keys in memory (``idp.services.lookup_cache``):
two servers as two machines (gunicorn and granian, two workers each, as the README runs them) on
one database, the change made by a third process (the CLI) or on one of the servers. Each
request opens a connection of its own, so the workers of a server answer in turn; every worker
is warmed first, and the check after a change asks each server many times.

``tests/oidc/test_lookup_cache.py`` pins the same promise down to the very next request, and
which statements a warm cache still sends, on app instances inside the test's process."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from .. import databases
from ..helpers import PASSWORD, csrf_token

REALM = "lookups"
EMAIL = "alice@example.com"
REDIRECT_URI = "http://127.0.0.1:9999/callback"
ASKS = 16


def kid_of(jwt_string: str) -> str:
    header = jwt_string.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def client_credentials(server, client) -> requests.Response:
    return requests.post(f"{server.url}/realms/{REALM}/token", data={"grant_type": "client_credentials"},
                         auth=client, timeout=10)


def userinfo(server, access_token) -> requests.Response:
    return requests.get(f"{server.url}/realms/{REALM}/userinfo",
                        headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def introspect(server, resource_server, token) -> dict:
    answer = requests.post(f"{server.url}/realms/{REALM}/introspect", data={"token": token},
                           auth=resource_server, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def refresh(server, client, refresh_token) -> requests.Response:
    return requests.post(f"{server.url}/realms/{REALM}/token", auth=client, timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def everywhere(servers, answer, check) -> None:
    """``check(answer(server))`` holds on every server, for ``ASKS`` requests in a row on new
    connections (so on each of its workers). On SQLite it must hold at once: each request compares
    the stamp the writer replaced before its commit returned. PostgreSQL hands ``NOTIFY`` to
    the listening workers a moment after the commit returns, so there a worker may answer one
    request before it has it: wait up to two seconds for the first answer that holds, then
    ask again."""
    for server in servers:
        deadline = time.monotonic() + 2
        while not check(first := answer(server)):
            assert databases.postgres_mode() and time.monotonic() < deadline, (server.name, first)
            time.sleep(0.01)
        if databases.postgres_mode():
            time.sleep(0.05)
        for _ in range(ASKS):
            result = answer(server)
            assert check(result), (server.name, result)


def logged_in(server, shop) -> dict:
    """Alice logs in to the shop through ``server``'s hosted pages (authorization code with
    PKCE) and the shop exchanges the code: her access and refresh tokens."""
    browser = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    page = browser.get(f"{server.url}/realms/{REALM}/authorize", timeout=10, params={
        "response_type": "code", "client_id": shop[0], "redirect_uri": REDIRECT_URI,
        "scope": "openid email offline_access", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert page.status_code == 200 and 'name="password"' in page.text, page.text[:500]
    response = browser.post(page.url, data={"csrf_token": csrf_token(page.text), "email": EMAIL,
                                            "password": PASSWORD}, allow_redirects=False, timeout=10)
    while not response.headers.get("Location", "").startswith(REDIRECT_URI):
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        response = browser.get(requests.compat.urljoin(response.url, response.headers["Location"]),
                               allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    tokens = requests.post(f"{server.url}/realms/{REALM}/token", auth=shop, timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


@pytest.fixture
def setup(runner):
    from ..oidc.conftest import realm_with_machine_and_shop

    clients = realm_with_machine_and_shop(runner, REALM, REDIRECT_URI, EMAIL)
    resource_server = json.loads(runner("clients", "create", "--realm", REALM, "--name", "Orders API",
                                        "--client-credentials", "--json").stdout)
    clients["api"] = (resource_server["client_id"], resource_server["client_secret"])
    assert runner("clients", "set", clients["api"][0], "--realm", REALM,
                  "--resource-server-for", clients["shop"][0]).exit_code == 0
    return clients


@pytest.fixture
def servers(start_server):
    """gunicorn and granian on one public address, as two machines behind one load balancer."""
    first = start_server("gunicorn")
    second = start_server("granian", public_url=first.url, server="granian")
    return first, second


def test_changes_reach_every_worker_of_every_server(servers, setup, runner):
    machine, shop, api = setup["machine"], setup["shop"], setup["api"]
    first, second = servers
    for server in servers:
        for _ in range(ASKS):  # every worker reads the realm, the client and the key once
            assert client_credentials(server, machine).status_code == 200
    old_kid = kid_of(client_credentials(first, machine).json()["access_token"])

    # A realm setting changed, by the CLI on a third machine.
    assert runner("realms", "set", REALM, "--access-token-lifetime", "123").exit_code == 0
    everywhere(servers, lambda server: client_credentials(server, machine).json()["expires_in"],
               lambda lifetime: lifetime == 123)

    # The signing keys rotated: every worker signs with the new key, and a token signed with
    # the old one still verifies everywhere.
    tokens = logged_in(first, shop)
    assert kid_of(tokens["access_token"]) == old_kid
    assert runner("keys", "rotate", "--realm", REALM).exit_code == 0
    everywhere(servers, lambda server: kid_of(client_credentials(server, machine).json()["access_token"]),
               lambda kid: kid != old_kid)
    everywhere(servers, lambda server: userinfo(server, tokens["access_token"]).status_code,
               lambda status: status == 200)

    # The machine client's secret rotated through the management API of the second server:
    # the old secret fails on every worker, the new one works.
    api_key = runner("api-keys", "create", "--realm", REALM, "--name", "ops", "--scope", "clients:write")
    assert api_key.exit_code == 0, api_key.output
    rotated = requests.post(f"{second.url}/api/v1/realms/{REALM}/clients/{machine[0]}/secret", timeout=10,
                            headers={"Authorization": f"Bearer {api_key.stdout.strip()}"})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    everywhere(servers, lambda server: client_credentials(server, machine).status_code, lambda status: status == 401)
    everywhere(servers, lambda server: client_credentials(server, (machine[0], new_secret)).status_code,
               lambda status: status == 200)

    # A token revoked on one server: the other refuses it on every worker, and its resource
    # server learns it is no longer active.
    assert introspect(second, api, tokens["access_token"])["active"] is True
    revoked = requests.post(f"{first.url}/realms/{REALM}/revoke", auth=shop, data={"token": tokens["refresh_token"]},
                            timeout=10)
    assert revoked.status_code == 200
    everywhere(servers, lambda server: userinfo(server, tokens["access_token"]).status_code,
               lambda status: status == 401)
    everywhere(servers, lambda server: introspect(server, api, tokens["access_token"])["active"],
               lambda active: active is False)
    assert refresh(second, shop, tokens["refresh_token"]).status_code == 400

    # The user locked by an administrator: her tokens stop working on every worker.
    tokens = logged_in(second, shop)
    everywhere(servers, lambda server: userinfo(server, tokens["access_token"]).status_code,
               lambda status: status == 200)
    assert runner("users", "set", EMAIL, "--realm", REALM, "--disabled", "on").exit_code == 0
    everywhere(servers, lambda server: userinfo(server, tokens["access_token"]).status_code,
               lambda status: status == 401)
    everywhere(servers, lambda server: introspect(server, api, tokens["access_token"])["active"],
               lambda active: active is False)
    assert refresh(first, shop, tokens["refresh_token"]).status_code == 400

    # The machine client deleted: no worker knows it any more.
    assert runner("clients", "delete", machine[0], "--realm", REALM).exit_code == 0
    everywhere(servers, lambda server: client_credentials(server, (machine[0], new_secret)).json().get("error"),
               lambda error: error == "invalid_client")
    assert first.running and second.running
