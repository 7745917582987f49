"""The public address: only ``server.public_url``'s host is served (an attacker's ``Host`` is a
400, even for the discovery documents answered before Flask), the issuer never follows a
request, the document cache holds a bounded number of addresses, and production serving does
not start without a public URL."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .cli.conftest import assert_one_line_error

PUBLIC_URL = "https://login.example.com"
DISCOVERY = "/realms/default/.well-known/openid-configuration"
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", [DISCOVERY, "/realms/default/jwks"])
def test_documents_asked_for_at_an_attackers_host_are_refused_even_once_cached(make_app, path):
    client = make_app(public_url=PUBLIC_URL).test_client()
    for _ in range(2):  # the second answer comes from the cache in front of Flask
        assert client.get(path, base_url=PUBLIC_URL).status_code == 200
        refused = client.get(path, base_url="https://evil.example")
        assert refused.status_code == 400
        assert b"evil.example" not in refused.data
    assert client.get(DISCOVERY, base_url=PUBLIC_URL).get_json()["issuer"] == f"{PUBLIC_URL}/realms/default"


def test_forwarded_attacker_host_is_refused_behind_a_trusted_proxy(make_app):
    client = make_app(public_url=PUBLIC_URL, server={"trusted_proxies": 1}).test_client()
    assert client.get(DISCOVERY, base_url=PUBLIC_URL).status_code == 200
    refused = client.get(DISCOVERY, base_url=PUBLIC_URL, headers={"X-Forwarded-Host": "evil.example"})
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "invalid_request",
                                  "error_description": "This server does not answer to the host name the "
                                                       "request named."}


def test_without_a_public_url_the_issuer_follows_only_loopback_hosts(make_app):
    client = make_app(public_url="").test_client()
    assert client.get(DISCOVERY, base_url="http://evil.example").status_code == 400
    assert client.get("/realms/default/account", base_url="http://evil.example").status_code == 400
    assert client.get(DISCOVERY).get_json()["issuer"] == "http://localhost/realms/default"
    assert client.get(DISCOVERY, base_url="http://127.0.0.1:8000").get_json()["issuer"] == \
        "http://127.0.0.1:8000/realms/default"


def test_document_cache_keeps_a_bounded_number_of_addresses(make_app, monkeypatch):
    """Without a public URL the issuer is the request's host and port; a flood of ports must not
    grow the cache."""
    from idp.oidc import metadata

    monkeypatch.setattr(metadata, "MAX_DOCUMENTS", 4)
    client = make_app(public_url="").test_client()
    for port in range(8000, 8012):
        assert client.get(DISCOVERY, base_url=f"http://localhost:{port}").status_code == 200
    assert len(metadata._documents) <= 4


@pytest.mark.parametrize("public_url", [
    "login.example.com", "ftp://login.example.com", "https://", "https://admin:secret@login.example.com",
    "https://login.example.com/?next=1", "https://login.example.com/#top", "https://login.example.com:port",
])
def test_a_public_url_that_is_not_an_http_address_stops_start_up_naming_the_key(runner, monkeypatch, public_url):
    monkeypatch.setenv("IDP_SERVER_PUBLIC_URL", public_url)
    assert_one_line_error(runner("realms", "list"), "server.public_url")


def _import_production_app(tmp_path, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    environ.update({"IDP_INSTANCE": str(tmp_path / "instance"), **env})
    return subprocess.run([sys.executable, "-c", "import idp.wsgi"], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=60)


def test_production_app_does_not_start_without_a_public_url(tmp_path):
    result = _import_production_app(tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "idp: key 'server.public_url' (IDP_SERVER_PUBLIC_URL) is not set: production serving needs the address "
        "users reach idp at, such as https://login.example.com"]


def test_production_app_starts_with_a_public_url(tmp_path):
    result = _import_production_app(tmp_path, IDP_SERVER_PUBLIC_URL=PUBLIC_URL)
    assert result.returncode == 0, result.stderr
