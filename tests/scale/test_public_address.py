"""The production server (granian as ``deploy/idp.service`` runs it, or gunicorn with
``deploy/gunicorn.conf.py``; ``idp.wsgi:app`` under either) does not start without
``server.public_url``, and once started serves only that host: an attacker's Host or
X-Forwarded-Host (through the trusted proxy) is a 400, for the discovery documents answered
before Flask as for the pages. Only the health check answers whatever the host."""
from __future__ import annotations

import pytest
import requests

DISCOVERY = "/realms/default/.well-known/openid-configuration"


@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_the_server_does_not_start_without_a_public_url(start_server, kind):
    server = start_server("no-public-url", wait=False, server=kind, IDP_SERVER_PUBLIC_URL="")
    assert server.process.wait(timeout=60) != 0
    # each worker says it (granian's twice over: it starts a failed worker again before it gives up)
    assert {line for line in server.log().splitlines() if "server.public_url" in line} == {
        "idp: key 'server.public_url' (IDP_SERVER_PUBLIC_URL) is not set: production serving needs the address "
        "users reach idp at, such as https://login.example.com"}


@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_the_server_refuses_an_attackers_host_and_forwarded_host(start_server, kind):
    server = start_server("one", server=kind, IDP_SERVER_TRUSTED_PROXIES="1")
    for _ in range(2):  # the second discovery request is answered from the cache in front of Flask
        ok = requests.get(server.url + DISCOVERY, timeout=10)
        assert ok.status_code == 200 and ok.json()["issuer"] == f"{server.url}/realms/default"
    for path in (DISCOVERY, "/realms/default/jwks", "/realms/default/account"):
        assert requests.get(server.url + path, headers={"Host": "evil.example"}, timeout=10).status_code == 400
        assert requests.get(server.url + path, headers={"X-Forwarded-Host": "evil.example"},
                            timeout=10).status_code == 400
    health = requests.get(server.url + "/healthz", headers={"Host": "10.0.0.5:8000"}, timeout=10)
    assert health.json() == {"status": "ok", "database": "ok"}, "probes name the server by its own address"
