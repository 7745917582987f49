"""Fixtures for the management API: a realm with an API key, a JSON client that sends it, and
an MFA-ready realm (SMS through the outbox, TOTP)."""
from __future__ import annotations

import pytest

REALM = "acme"
EMAIL = "alice@example.com"


class ApiClient:
    """Flask's test client with the realm API key and JSON bodies."""

    def __init__(self, http, key: str | None):
        self.http = http
        self.key = key

    def url(self, path: str, realm: str = REALM) -> str:
        return f"/api/v1/realms/{realm}{path}"

    def request(self, method: str, path: str, json=None, *, realm: str = REALM, key: str | None = ..., **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        key = self.key if key is ... else key
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if json is not None:
            kwargs["json"] = json
        return self.http.open(self.url(path, realm), method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request("PATCH", path, json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


def make_api_key(realm, name="test app", *, scopes=None, expires_at=None):
    """A key's secret; ``realm`` None makes a server-level key, ``scopes`` None every scope."""
    from idp.extensions import db
    from idp.services.api_keys import create_api_key

    key, secret = create_api_key(realm, name, scopes=scopes, expires_at=expires_at)
    db.session.commit()
    return secret


@pytest.fixture
def realm(factory):
    return factory.realm(REALM)


@pytest.fixture
def mfa_realm(factory):
    """MFA on, with SMS (outbox integration) and TOTP both enabled."""
    realm = factory.realm(REALM)
    factory.sms_integration(realm)
    return factory.realm(REALM, mfa_enabled=True, sms_enabled=True, totp_enabled=True)


@pytest.fixture
def api(client, realm):
    return ApiClient(client, make_api_key(realm))


@pytest.fixture
def user(factory, realm):
    return factory.user(realm, email=EMAIL, name="Alice Liddell")


@pytest.fixture
def login_client(factory, realm):
    """A confidential first-party client: (client_id, secret)."""
    return factory.client(realm)


def totp_now(secret: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).now()


def enrol_totp(api, user_id: str) -> str:
    """Create and verify a TOTP credential through the API; returns its secret."""
    created = api.post(f"/users/{user_id}/credentials", {"credential_type": "totp"})
    assert created.status_code == 201, created.get_json()
    secret = created.get_json()["otp_secret"]
    verified = api.post(f"/users/{user_id}/credentials/{created.get_json()['id']}/verify", {"code": totp_now(secret)})
    assert verified.status_code == 200, verified.get_json()
    return secret


def next_totp(secret: str) -> str:
    """A code for the next time step: TOTP refuses a step already used, and tests move fast."""
    import time

    import pyotp

    return pyotp.TOTP(secret).at(time.time() + 30)
