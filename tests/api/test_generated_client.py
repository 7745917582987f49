"""The OpenAPI document is good enough for a generated client: openapi-python-client builds a
Python package from the document a live server serves, and that package manages a realm."""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import urllib.request

import pytest

from .conftest import REALM, make_api_key


@pytest.fixture
def generated_client(live_server, tmp_path):
    """The package ``idp_client``, generated from ``/api/v1/openapi.json`` of the live server."""
    generator = shutil.which("openapi-python-client")
    assert generator, "openapi-python-client is a test dependency (pyproject.toml [test])"
    with urllib.request.urlopen(f"{live_server.url}/api/v1/openapi.json", timeout=10) as response:
        (tmp_path / "openapi.json").write_text(json.dumps(json.load(response)))
    result = subprocess.run([generator, "generate", "--path", str(tmp_path / "openapi.json"), "--meta", "none",
                             "--output-path", str(tmp_path / "idp_client")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("idp_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "idp_client" or n.startswith("idp_client.")]:
            del sys.modules[name]


def test_a_generated_python_client_manages_users_clients_and_settings(live_server, generated_client):
    from idp.services.realms import create_realm

    with live_server.app.app_context():
        from idp.extensions import db

        realm = create_realm(REALM)
        db.session.commit()
        secret = make_api_key(realm)
        narrow = make_api_key(realm, "readers", scopes=["users:read"])

    users = importlib.import_module("idp_client.api.users.create_user")
    list_users = importlib.import_module("idp_client.api.users.list_users")
    create_client = importlib.import_module("idp_client.api.clients.create_client")
    settings = importlib.import_module("idp_client.api.settings.update_realm_settings")
    models = importlib.import_module("idp_client.models")
    client_module = importlib.import_module("idp_client.client")

    with client_module.AuthenticatedClient(base_url=live_server.url, token=secret) as api:
        alice = users.sync(REALM, client=api, body=models.UserCreate(email="alice@example.com",
                                                                     password="a long passphrase"))
        assert isinstance(alice, models.User) and alice.email == "alice@example.com"
        page = list_users.sync(REALM, client=api)
        assert [u.email for u in page.users] == ["alice@example.com"]

        app = create_client.sync(REALM, client=api, body=models.ClientCreate(
            name="Shop", redirect_uris=["https://shop.example/cb"]))
        assert isinstance(app, models.ClientWithSecret) and app.client_secret
        assert app.grant_types == ["authorization_code", "refresh_token", "client_credentials"]

        changed = settings.sync(REALM, client=api, body=models.RealmSettingsUpdate(totp_enabled=True,
                                                                                 access_token_lifetime=600))
        assert changed.totp_enabled is True and changed.access_token_lifetime == 600

        bad = settings.sync(REALM, client=api, body=models.RealmSettingsUpdate(password_min_length=3))
        assert isinstance(bad, models.Error) and bad.error == "invalid_request"

    with client_module.AuthenticatedClient(base_url=live_server.url, token=narrow) as api:
        refused = create_client.sync(REALM, client=api, body=models.ClientCreate(name="Nope"))
        assert isinstance(refused, models.Error) and refused.error == "insufficient_scope"
