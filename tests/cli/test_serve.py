"""`idp serve` prints where it listens, and the public URL defaults to that address."""
from __future__ import annotations

import pytest


@pytest.fixture
def served(monkeypatch):
    """Capture what `serve` would run instead of blocking on a real server."""
    calls = []
    monkeypatch.setattr("idp.cli._run_server", lambda app, host, port: calls.append((app, host, port)))
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
