"""`idp serve` prints where it listens, and the public URL defaults to that address."""
from __future__ import annotations

import pytest


@pytest.fixture
def served(monkeypatch):
    """Capture what `serve` would run instead of listening and blocking on a real server."""
    calls = []

    def run_server(app, host, port, announce):
        announce()
        calls.append((app, host, port))

    monkeypatch.setattr("idp.cli._run_server", run_server)
    return calls


def test_serve_prints_its_address_and_uses_it_as_the_public_url(runner, served):
    result = runner("serve", "--port", "5999")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["idp listening on http://127.0.0.1:5999", "public URL: http://127.0.0.1:5999"]
    app, host, port = served[0]
    assert (host, port) == ("127.0.0.1", 5999)
    assert app.extensions["idp.settings"].server.public_url == "http://127.0.0.1:5999"


def test_configured_public_url_wins_over_the_listening_address(runner, served, monkeypatch):
    monkeypatch.setenv("IDP_SERVER_PUBLIC_URL", "https://id.example.com")

    result = runner("serve", "--host", "0.0.0.0", "--port", "8000")

    assert result.exit_code == 0, result.output
    assert "public URL: https://id.example.com" in result.stdout
    assert served[0][1:] == ("0.0.0.0", 8000)


def test_serve_takes_host_and_port_from_the_environment(runner, served, monkeypatch):
    monkeypatch.setenv("IDP_SERVER_PORT", "5123")
    assert "idp listening on http://127.0.0.1:5123" in runner("serve").stdout


def test_serve_refuses_a_port_that_is_not_a_number(runner, served):
    result = runner("serve", "--port", "http")
    assert result.exit_code != 0 and "'--port'" in result.stderr
    assert served == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_serve_on_every_address_answers_only_to_loopback_names_and_says_so(runner, served, host):
    """No host to derive a public URL from: it is the loopback one, and the server says so."""
    result = runner("serve", "--host", host, "--port", "8000")

    assert result.exit_code == 0, result.output
    listening, public = result.stdout.splitlines()
    assert public.startswith("public URL: http://127.0.0.1:8000 (listening on every address, answering only to "
                             "loopback names: set server.public_url")
    app = served[0][0]
    assert app.config["TRUSTED_HOSTS"] == ["127.0.0.1", "localhost"]
    client = app.test_client()
    assert client.get("/realms/default/account", base_url="http://192.0.2.10:8000").status_code == 400
    assert client.get("/realms/default/account", base_url="http://evil.example").status_code == 400


def test_served_app_is_built_on_its_derived_public_url(runner, served):
    """Before: the app was built without a public URL and given one afterwards, so it trusted
    every Host and its cache of documents was off."""
    from idp.oidc.express import ExpressLanes
    from idp.oidc.metadata import CachedDocumentsMiddleware

    assert runner("serve", "--host", "192.0.2.10", "--port", "5999").exit_code == 0
    app = served[0][0]
    assert app.config["TRUSTED_HOSTS"] == ["192.0.2.10"]
    assert isinstance(app.wsgi_app, ExpressLanes) and isinstance(app.wsgi_app.wsgi_app, CachedDocumentsMiddleware)
    client = app.test_client()
    assert client.get("/realms/default/account", base_url="http://evil.example:5999").status_code == 400
    discovery = client.get("/realms/default/.well-known/openid-configuration", base_url="http://192.0.2.10:5999")
    assert discovery.get_json()["issuer"] == "http://192.0.2.10:5999/realms/default"


def test_demo_on_every_address_still_starts_on_the_loopback_url(runner, served):
    result = runner("demo", "--host", "0.0.0.0", "--port", "8080")

    assert result.exit_code == 0, result.output
    assert "public URL: http://127.0.0.1:8080 (listening on every address" in result.stdout
    assert "Demo relying app: http://127.0.0.1:8080/demo/" in result.stdout


def test_a_port_in_use_is_one_line_before_anything_says_listening(runner):
    """Port 5000 is AirPlay's on macOS: the server says the port is taken, and never that it
    listens."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = runner("serve", "--port", str(port))

    assert result.exit_code == 1
    assert "listening" not in result.stdout
    assert result.stderr.strip() == (f"Error: port {port} is in use on 127.0.0.1 by another program: choose another "
                                      "with --port (or IDP_SERVER_PORT)")
