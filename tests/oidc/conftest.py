"""Fixtures for protocol tests: a provider on loopback with a realm, a user and clients; a
browser (requests.Session) that fills in the hosted pages; a relying app on Authlib's client."""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from ..helpers import PASSWORD, absolute, csrf_token, form_action, query_params
from .rp_app import CALLBACK_URL, LOGGED_OUT_URL, create_rp_app

REALM = "acme"
EMAIL = "alice@example.com"
REDIRECT = "http://127.0.0.1:9999/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- a browser on real HTTP ------------------------------------------------------------------

@dataclass
class Landing:
    """Where a navigation ended: the last provider page, or the URL outside the provider
    (the relying app's callback) that the browser was sent to."""

    response: requests.Response
    left_to: str | None = None

    @property
    def page(self) -> str:
        return self.response.text


class Browser:
    """Follows redirects inside the provider and stops at the first URL outside it."""

    def __init__(self, provider_url: str):
        self.provider_url = provider_url
        self.http = requests.Session()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.http.close()

    def _follow(self, response: requests.Response) -> Landing:
        while response.is_redirect:
            location = absolute(response.url, response.headers["Location"])
            if not location.startswith(self.provider_url + "/"):
                return Landing(response, location)
            response = self.http.get(location, allow_redirects=False)
        return Landing(response)

    def open(self, url: str, **params) -> Landing:
        return self._follow(self.http.get(url, params=params or None, allow_redirects=False))

    def submit(self, landing: Landing, data: dict, *, with_csrf: bool = True) -> Landing:
        page = landing.page
        fields = dict(data)
        if with_csrf:
            fields["csrf_token"] = csrf_token(page)
        action = absolute(landing.response.url, form_action(page))
        return self._follow(self.http.post(action, data=fields, allow_redirects=False))

    def log_in(self, landing: Landing, email: str = EMAIL, password: str = PASSWORD) -> Landing:
        assert landing.response.status_code == 200 and "Log in" in landing.page, landing.page[:500]
        return self.submit(landing, {"email": email, "password": password})


@pytest.fixture(scope="session")
def migrated_instance(migrated_instance, tmp_path_factory):
    """The root template plus realm ``acme``, so that each test copies its signing keys instead
    of generating an RSA key."""
    import shutil

    from idp import create_app

    from ..conftest import test_settings
    from ..helpers import Factory

    folder = tmp_path_factory.mktemp("oidc-template")
    shutil.copytree(migrated_instance, folder, dirs_exist_ok=True)
    app = create_app(folder, settings=test_settings())
    with app.app_context():
        from idp.database import dispose_engine
        from idp.extensions import db

        Factory(app).realm(REALM)
        db.session.remove()
        dispose_engine(db.engine)
    return folder


@pytest.fixture
def live_server(make_app):
    """The root ``live_server``, stopped in 10 ms instead of serve_forever's 0.5 s poll."""
    import socket
    import threading

    from werkzeug.serving import make_server

    from ..conftest import LiveServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(public_url=f"http://127.0.0.1:{port}")
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield LiveServer(app, server, thread)
    server.shutdown()
    thread.join(timeout=5)


# --- the provider ----------------------------------------------------------------------------

class Provider:
    """The live provider with realm ``acme`` and user alice; registers clients on demand."""

    def __init__(self, server, factory, realm):
        self.server = server
        self.factory = factory
        self.realm = realm
        self.issuer = server.realm_url(realm.name)

    def url(self, endpoint: str) -> str:
        return f"{self.issuer}/{endpoint}"

    def client(self, *, public: bool = False, redirect_uri: str = CALLBACK_URL, **kwargs):
        kwargs.setdefault("post_logout_redirect_uris", [LOGGED_OUT_URL])
        return self.factory.client(self.realm, redirect_uri=redirect_uri, public=public, **kwargs)

    def oauth_session(self, client_id: str, client_secret: str | None) -> OAuth2Session:
        """Authlib's requests client, as a relying app's back end uses it for token calls."""
        return OAuth2Session(
            client_id, client_secret,
            token_endpoint_auth_method="client_secret_basic" if client_secret else "none",
        )


@pytest.fixture
def provider(live_server):
    """The live provider; ``provider.factory`` adds realms, clients and users to it."""
    from ..helpers import Factory

    with live_server.app.app_context():
        factory = Factory(live_server.app)
        realm = factory.realm(REALM)
        factory.user(realm, email=EMAIL, name="Alice Liddell")
        yield Provider(live_server, factory, realm)


@pytest.fixture
def browser(live_server):
    with Browser(live_server.url) as b:
        yield b


# --- the relying app -------------------------------------------------------------------------

class RelyingApp:
    """The Authlib-based relying app and its test client (the app's own browser cookies)."""

    def __init__(self, app, client_id, client_secret):
        self.app = app
        self.client_id = client_id
        self.client_secret = client_secret
        self.http = app.test_client()

    @property
    def oauth(self):
        return self.app.extensions["rp.oauth"].idp

    def start_login(self, **params) -> str:
        """The authorization URL the relying app sends the browser to."""
        response = self.http.get("/login", query_string=params)
        assert response.status_code == 302
        return response.location

    def finish_login(self, callback_url: str) -> dict:
        parts = urlsplit(callback_url)
        response = self.http.get(f"{parts.path}?{parts.query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def log_in(self, browser: Browser, *, email: str = EMAIL, password: str = PASSWORD, **params) -> dict:
        """The whole round trip: relying app -> hosted login (skipped when the browser has a
        session) -> callback -> tokens, verified ID token claims and userinfo."""
        landing = browser.open(self.start_login(**params))
        if landing.left_to is None:
            landing = browser.log_in(landing, email, password)
        assert landing.left_to and landing.left_to.startswith(CALLBACK_URL), landing.page[:500]
        return self.finish_login(landing.left_to)


@pytest.fixture
def relying_app(provider):
    """A factory: ``relying_app(public=False, id_token_signed_response_alg="RS256")``."""

    def make(*, public: bool = False, scope: str = "openid profile email offline_access", **client_kwargs):
        client_id, secret = provider.client(public=public, **client_kwargs)
        return RelyingApp(create_rp_app(provider.issuer, client_id, secret, scope=scope), client_id, secret)

    return make


# --- the Flask test client, for requests no relying library would send ---------------------

@pytest.fixture
def realm(factory):
    realm = factory.realm(REALM)
    factory.user(realm, email=EMAIL)
    return realm


def authorize_params(client_id: str, challenge: str | None = None, **overrides) -> dict:
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
        "scope": "openid profile email offline_access", "state": "st4te", "nonce": secrets.token_urlsafe(8),
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def log_in_with_test_client(client, client_id: str, **overrides) -> tuple[dict, str]:
    """Run an authorization request through the hosted login with Flask's test client.
    Returns the redirect's query parameters (code, state, iss) and the PKCE verifier."""
    verifier, challenge = pkce_pair()
    response = client.get(f"/realms/{REALM}/authorize", query_string=authorize_params(client_id, challenge, **overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    if not response.location.startswith(REDIRECT):
        login_url = response.location
        page = client.get(login_url).get_data(as_text=True)
        response = client.post(login_url, data={"csrf_token": csrf_token(page), "email": EMAIL, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
    assert response.location.startswith(REDIRECT), response.location
    return query_params(response.location), verifier


def redeem_code(client, client_id, secret, code, verifier, /, **overrides):
    """POST the code to the token endpoint; keyword arguments change or (None) drop form fields."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    data.update(overrides)
    return client.post(f"/realms/{REALM}/token", data={k: v for k, v in data.items() if v is not None},
                       auth=(client_id, secret) if secret else None)


def realm_with_machine_and_shop(runner, realm: str, redirect_uri: str, email: str) -> dict:
    """A realm made with the CLI: a client_credentials client ("machine"), a code-flow client
    ("shop") and a user with ``PASSWORD``; each client as (client_id, client_secret)."""
    import json

    assert runner("realms", "create", realm).exit_code == 0
    machine = json.loads(runner("clients", "create", "--realm", realm, "--name", "Machine", "--client-credentials",
                                "--json").stdout)
    shop = json.loads(runner("clients", "create", "--realm", realm, "--name", "Shop", "--redirect-uri", redirect_uri,
                             "--json").stdout)
    assert runner("users", "create", "--realm", realm, "--email", email, "--password", PASSWORD).exit_code == 0
    return {"machine": (machine["client_id"], machine["client_secret"]),
            "shop": (shop["client_id"], shop["client_secret"])}
