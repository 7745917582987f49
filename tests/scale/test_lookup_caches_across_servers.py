"""What an administrator changes reaches every worker of every server on its next requests,
though each worker keeps realms, clients and signing keys in memory (``idp.services.lookup_cache``):
two servers as two machines (gunicorn and granian, two workers each, as ``deploy/`` runs them) on
one database, the change made by a third process (the CLI) or through one of the servers. The
test holds a keep-alive connection to each worker (found through ``/proc``), warms each one's
caches, and asks each worker after every change.

``tests/oidc/test_lookup_cache.py`` pins the same promise down to the very next request, and
which statements a warm cache still sends, on app instances inside the test's process."""
from __future__ import annotations

import base64
import http.client
import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from .. import databases
from ..helpers import PASSWORD
from ..oidc.conftest import Browser, pkce_pair
from .conftest import connect_to_worker, worker_pids

REALM = "lookups"
EMAIL = "alice@example.com"
REDIRECT_URI = "http://127.0.0.1:9999/callback"


class Worker:
    """One worker process of one server, reached on a connection it accepted. gunicorn closes a
    connection idle for 5 s (``keepalive``): the next request then opens connections until one
    lands on the same worker again."""

    def __init__(self, server, pid: int, connection: http.client.HTTPConnection):
        self.server, self.pid, self.connection = server, pid, connection

    def __repr__(self) -> str:
        return f"<worker {self.pid} of {self.server.name}>"

    def ask(self, method: str, path: str, *, form: dict | None = None, auth: tuple | None = None,
            bearer: str | None = None) -> tuple[int, dict]:
        headers = {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if auth is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        for attempt in range(2):
            try:
                self.connection.request(method, f"/realms/{REALM}/{path}", body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, json.loads(response.read() or b"{}")
            except (http.client.RemoteDisconnected, ConnectionError):
                if attempt:
                    raise
                self.connection.close()
                _, self.connection = connect_to_worker(self.server, self.pid)
        raise AssertionError("unreachable")

    def client_credentials(self, client) -> tuple[int, dict]:
        return self.ask("POST", "token", form={"grant_type": "client_credentials"}, auth=client)

    def userinfo(self, access_token) -> int:
        return self.ask("GET", "userinfo", bearer=access_token)[0]

    def introspect(self, resource_server, token) -> bool:
        status, answer = self.ask("POST", "introspect", form={"token": token}, auth=resource_server)
        assert status == 200, answer
        return answer["active"]


def kid_of(jwt_string: str) -> str:
    header = jwt_string.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def everywhere(workers, answer, check) -> None:
    """``check(answer(worker))`` holds on every worker. On SQLite at once: each request compares
    the stamp the writer replaced before its commit returned. PostgreSQL hands ``NOTIFY`` to each
    worker's listening connection a moment after the commit returns, so there each worker may
    answer from its old caches until it has it: up to two seconds from the change. Once a
    worker's answer holds it must keep holding."""
    deadline = time.monotonic() + 2
    for worker in workers:
        while not check(first := answer(worker)):
            assert databases.postgres_mode() and time.monotonic() < deadline, (worker, first)
            time.sleep(0.01)
        for _ in range(2):
            result = answer(worker)
            assert check(result), (worker, result)


def refresh(server, client, refresh_token) -> requests.Response:
    return requests.post(f"{server.url}/realms/{REALM}/token", auth=client, timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def logged_in(server, shop) -> dict:
    """Alice logs in to the shop through ``server``'s hosted pages (authorization code with
    PKCE) and the shop exchanges the code: her access and refresh tokens."""
    verifier, challenge = pkce_pair()
    with Browser(server.url) as browser:
        page = browser.open(f"{server.url}/realms/{REALM}/authorize", response_type="code", client_id=shop[0],
                            redirect_uri=REDIRECT_URI, scope="openid email offline_access", state="s",
                            code_challenge=challenge, code_challenge_method="S256")
        landing = browser.log_in(page, EMAIL, PASSWORD)
    assert landing.left_to and landing.left_to.startswith(REDIRECT_URI), landing.page[:500]
    code = parse_qs(urlsplit(landing.left_to).query)["code"][0]
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
def workers(start_server) -> list[Worker]:
    """gunicorn and granian on one public address, as two machines behind one load balancer: a
    connection to each of their four workers."""
    first = start_server("gunicorn")
    second = start_server("granian", public_url=first.url, server="granian")
    found = []
    for server in (first, second):
        pids = worker_pids(server)
        assert len(pids) == 2, pids
        for pid in pids:
            found.append(Worker(server, *connect_to_worker(server, pid, pids=pids)))
    return found


def test_changes_reach_every_worker_of_every_server(workers, setup, runner):
    machine, shop, api = setup["machine"], setup["shop"], setup["api"]
    first, second = workers[0].server, workers[-1].server
    for worker in workers:
        for _ in range(3):  # the realm, the client and the key now come from each worker's caches
            assert worker.client_credentials(machine)[0] == 200
    old_kid = kid_of(workers[0].client_credentials(machine)[1]["access_token"])

    # A realm setting changed, by the CLI on a third machine.
    assert runner("realms", "set", REALM, "--access-token-lifetime", "123").exit_code == 0
    everywhere(workers, lambda worker: worker.client_credentials(machine)[1]["expires_in"],
               lambda lifetime: lifetime == 123)

    # The signing keys rotated: every worker signs with the new key, and a token signed with
    # the old one still verifies everywhere.
    tokens = logged_in(first, shop)
    assert kid_of(tokens["access_token"]) == old_kid
    assert runner("keys", "rotate", "--realm", REALM).exit_code == 0
    everywhere(workers, lambda worker: kid_of(worker.client_credentials(machine)[1]["access_token"]),
               lambda kid: kid != old_kid)
    everywhere(workers, lambda worker: worker.userinfo(tokens["access_token"]), lambda status: status == 200)

    # The machine client's secret rotated through the management API of the second server:
    # the old secret fails on every worker, the new one works.
    api_key = runner("api-keys", "create", "--realm", REALM, "--name", "ops", "--scope", "clients:write")
    assert api_key.exit_code == 0, api_key.output
    rotated = requests.post(f"{second.url}/api/v1/realms/{REALM}/clients/{machine[0]}/secret", timeout=10,
                            headers={"Authorization": f"Bearer {api_key.stdout.strip()}"})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    everywhere(workers, lambda worker: worker.client_credentials(machine)[0], lambda status: status == 401)
    everywhere(workers, lambda worker: worker.client_credentials((machine[0], new_secret))[0],
               lambda status: status == 200)

    # Tokens and users are never cached: these check the same promise end to end. A token
    # revoked on one server is refused by every worker, and its resource server learns it is
    # no longer active.
    assert workers[-1].introspect(api, tokens["access_token"]) is True
    revoked = requests.post(f"{first.url}/realms/{REALM}/revoke", auth=shop, data={"token": tokens["refresh_token"]},
                            timeout=10)
    assert revoked.status_code == 200
    everywhere(workers, lambda worker: worker.userinfo(tokens["access_token"]), lambda status: status == 401)
    everywhere(workers, lambda worker: worker.introspect(api, tokens["access_token"]), lambda active: active is False)
    assert refresh(second, shop, tokens["refresh_token"]).status_code == 400

    # The user disabled by an administrator: her tokens stop working on every worker.
    tokens = logged_in(second, shop)
    everywhere(workers, lambda worker: worker.userinfo(tokens["access_token"]), lambda status: status == 200)
    assert runner("users", "set", EMAIL, "--realm", REALM, "--disabled", "on").exit_code == 0
    everywhere(workers, lambda worker: worker.userinfo(tokens["access_token"]), lambda status: status == 401)
    everywhere(workers, lambda worker: worker.introspect(api, tokens["access_token"]), lambda active: active is False)
    assert refresh(first, shop, tokens["refresh_token"]).status_code == 400

    # The machine client deleted: no worker knows it any more.
    assert runner("clients", "delete", machine[0], "--realm", REALM).exit_code == 0
    everywhere(workers, lambda worker: worker.client_credentials((machine[0], new_secret))[1].get("error"),
               lambda error: error == "invalid_client")
    assert first.running and second.running
