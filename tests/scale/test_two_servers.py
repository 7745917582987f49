"""A login begun on one server completes on another: two server processes (gunicorn, or gunicorn
and granian as ``deploy/idp.service`` runs it) on two loopback ports, each with its own instance
folder, share the database and the configured secrets, as two machines behind a load balancer do."""
from __future__ import annotations

import base64
import hashlib
import html
import os
import secrets
import signal
import time
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from ..helpers import PASSWORD, csrf_token
from .conftest import connect_to_worker, worker_pids

REALM = "acme"
EMAIL = "alice@example.com"
REDIRECT_URI = "http://127.0.0.1:9999/callback"


@pytest.fixture
def acme(runner, make_app):
    """Realm ``acme`` with TOTP required, a confidential client and alice, made with the CLI;
    alice's authenticator app is enrolled through the services, as the account page does."""
    import json

    assert runner("realms", "create", REALM, "--mfa", "on", "--totp", "on", "--mfa-required", "on").exit_code == 0
    created = runner("clients", "create", "--realm", REALM, "--name", "Shop", "--redirect-uri", REDIRECT_URI,
                     "--id-token-alg", "ES256", "--json")
    client = json.loads(created.stdout)
    assert runner("users", "create", "--realm", REALM, "--email", EMAIL, "--password", PASSWORD).exit_code == 0

    app = make_app()
    with app.app_context():
        from idp.extensions import db
        from tests.helpers import generate_recovery_codes
        from tests.helpers import activate_totp, begin_totp_enrolment
        from idp.services.realms import get_realm
        from idp.services.users import get_user

        user = get_user(get_realm(REALM), EMAIL)
        device, totp_secret = begin_totp_enrolment(user)
        assert activate_totp(user, device, pyotp.TOTP(totp_secret).now())
        generate_recovery_codes(user)
        db.session.commit()
    return {"client_id": client["client_id"], "client_secret": client["client_secret"], "totp": totp_secret}


def next_totp_code(secret: str) -> str:
    """The code of the next time step: enrolment used the current one, and a code is accepted
    one step either side but never twice."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(int(time.time()) // totp.interval + 1)


class Browser:
    """One browser whose requests a load balancer sends to whichever server the test names;
    cookies for 127.0.0.1 go to both ports, as to one site."""

    def __init__(self):
        self.http = requests.Session()

    def get(self, server, path, **kwargs):
        return self.http.get(server.url + path, allow_redirects=False, timeout=10, **kwargs)

    def post(self, server, path, **kwargs):
        return self.http.post(server.url + path, allow_redirects=False, timeout=10, **kwargs)


def path_of(response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    parts = urlsplit(response.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def follow(browser, server, response, stop_prefix=REDIRECT_URI):
    """Follow the provider's redirects on ``server`` until a page or the relying app."""
    while response.status_code in (302, 303) and not response.headers["Location"].startswith(stop_prefix):
        response = browser.get(server, path_of(response))
    return response


@pytest.mark.parametrize("second_server", ["gunicorn", "granian"])
def test_login_begun_on_one_server_finishes_on_the_other(acme, start_server, second_server):
    """The second server is gunicorn, or granian as ``deploy/idp.service`` runs it: either
    finishes what the other began."""
    first = start_server("first")
    second = start_server("second", public_url=first.url, server=second_server)  # one public address for both
    browser = Browser()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    nonce = secrets.token_urlsafe(8)

    # On the first server: the authorization request and the password.
    page = follow(browser, first, browser.get(first, f"/realms/{REALM}/authorize", params={
        "response_type": "code", "client_id": acme["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile offline_access", "state": "s1", "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256"}))
    assert page.status_code == 200 and 'name="password"' in page.text
    login_path = urlsplit(page.url).path
    after_password = browser.post(first, login_path, data={
        "csrf_token": csrf_token(page.text), "email": EMAIL, "password": PASSWORD})
    assert "/mfa" in path_of(after_password)

    # On the second server: the MFA step, then the code exchange.
    code_page = follow(browser, second, after_password)
    assert code_page.status_code == 200 and "Enter your code" in html.unescape(code_page.text)
    to_app = browser.post(second, urlsplit(code_page.url).path + "?" + urlsplit(code_page.url).query, data={
        "csrf_token": csrf_token(code_page.text), "code": next_totp_code(acme["totp"])})
    to_app = follow(browser, second, to_app)
    location = to_app.headers["Location"]
    assert location.startswith(REDIRECT_URI), (to_app.status_code, to_app.text[:500])
    callback = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert callback["state"] == "s1" and "code" in callback

    token = requests.post(f"{second.url}/realms/{REALM}/token", auth=(acme["client_id"], acme["client_secret"]),
                          data={"grant_type": "authorization_code", "code": callback["code"],
                                "redirect_uri": REDIRECT_URI, "code_verifier": verifier}, timeout=10)
    assert token.status_code == 200, token.text
    tokens = token.json()

    # The first server verifies what the second signed: userinfo, and the ID token with its JWKS.
    userinfo = requests.get(f"{first.url}/realms/{REALM}/userinfo",
                            headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10)
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["email"] == EMAIL

    jwks = requests.get(f"{first.url}/realms/{REALM}/jwks", timeout=10).json()
    claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(jwks), algorithms=["ES256"]).claims
    assert claims["iss"] == f"{first.url}/realms/{REALM}"
    assert claims["nonce"] == nonce
    assert {"pwd", "mfa", "otp"} <= set(claims["amr"])

    # And a refresh token issued by the second rotates on the first.
    refreshed = requests.post(f"{first.url}/realms/{REALM}/token", auth=(acme["client_id"], acme["client_secret"]),
                              data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                              timeout=10)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    assert first.running and second.running


def test_granian_as_the_unit_runs_it_replaces_a_worker_that_dies(acme, start_server):
    """A worker killed (the kernel's OOM killer, a crash in a C extension) is started again, and
    the new one serves: once it answers, the other original worker is killed too. Without
    ``--respawn-failed-workers`` granian would stop altogether and leave it to systemd."""
    server = start_server("unit", server="granian")
    first, second = originals = worker_pids(server)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(current := worker_pids(server)) != 2 or first in current:
        assert server.running and time.monotonic() < deadline, server.log()
        time.sleep(0.1)
    (replacement,) = set(current) - set(originals)
    while True:  # it loads the app before it accepts
        try:
            connect_to_worker(server, replacement, pids=current, attempts=10)[1].close()
            break
        except (AssertionError, ConnectionError):  # not listening yet, or a reset (below)
            assert server.running and time.monotonic() < deadline, server.log()
            time.sleep(0.2)
    os.kill(second, signal.SIGKILL)
    # Each granian worker listens on a socket of its own: connections the kernel had queued on
    # the one that died, and on a replacement as it starts, may be reset (unless
    # net.ipv4.tcp_migrate_req=1, README "Production"). Then the server answers 20 in a row.
    in_a_row = 0
    while in_a_row < 20:  # each on a new connection
        in_a_row = in_a_row + 1 if answers(server) else 0
        assert server.running and time.monotonic() < deadline, server.log()
    assert server.running


def answers(server) -> bool:
    try:
        return requests.get(f"{server.url}/realms/{REALM}/.well-known/openid-configuration",
                            timeout=10).status_code == 200
    except requests.ConnectionError:
        return False
