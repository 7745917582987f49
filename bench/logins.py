"""A full hosted login on idp as one load-generator operation, the way a browser and its relying
app do it: authorize -> login page -> password -> MFA code page -> TOTP code -> back to the app
with a code -> code exchange at the token endpoint (with PKCE). Each login is a new browser (its
own cookies) and a user whose authenticator has not yet been used in this 30-second step."""
from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import html
import re
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from .loadgen import FORM, Scenario, basic_auth

CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
FORM_ACTION = re.compile(rb'<form[^>]*action="([^"]*)"')


class Browser:
    def __init__(self, conn):
        self.conn = conn
        self.cookies: dict[str, str] = {}

    def _remember(self, response):
        for header in response.set_cookies:
            pair, *attributes = header.split(";")
            name, _, value = pair.strip().partition("=")
            expired = any(a.strip().lower() in ("max-age=0",) for a in attributes) or value == ""
            if expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    async def request(self, method, path, body=b"", headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers.setdefault("Content-Type", FORM)
        response = await self.conn.request(method, path, headers=headers, body=body)
        self._remember(response)
        return response


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def csrf_token(body: bytes) -> str:
    """The CSRF token of a hosted page's form."""
    match = CSRF.search(body)
    if not match:
        raise AssertionError(f"no CSRF token on the page: {body[:300]!r}")
    return html.unescape((match.group(1) or match.group(2)).decode())


def form_action(body: bytes) -> str:
    """Where a hosted page's form posts (its own path)."""
    match = FORM_ACTION.search(body)
    if not match:
        raise AssertionError(f"no form on the page: {body[:300]!r}")
    return _path(html.unescape(match.group(1).decode()))


def authorization_request(realm: str, client_id: str, redirect_uri: str) -> tuple[str, str]:
    """The ``/authorize`` path and query of the bench's login (PKCE S256, offline access), and
    the code verifier for its code exchange."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                       "scope": "openid email profile offline_access", "state": secrets.token_urlsafe(8),
                       "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    return f"/realms/{realm}/authorize?{query}", verifier


class UserPool:
    """Users whose authenticator may be used now: each device accepts one code per 30 s step."""

    def __init__(self, emails: list[str], totp_secret: str):
        import pyotp

        self.totp = pyotp.TOTP(totp_secret)
        self.free = collections.deque(emails)
        self.used: collections.deque = collections.deque()  # (step, email)

    def _step(self) -> int:
        return int(time.time()) // self.totp.interval

    async def take(self) -> tuple[str, str]:
        while True:
            step = self._step()
            while self.used and self.used[0][0] < step:
                self.free.append(self.used.popleft()[1])
            if self.free:
                email = self.free.popleft()
                self.used.append((step, email))
                return email, self.totp.generate_otp(step)
            await asyncio.sleep(0.05)


class HostedLogins(Scenario):
    def __init__(self, realm: str, client_id: str, client_secret: str, redirect_uri: str, password: str,
                 users: UserPool, keep_tokens: list | None = None):
        self.realm = realm
        self.client_id = client_id
        self.auth = basic_auth(client_id, client_secret)
        self.redirect_uri = redirect_uri
        self.password = password
        self.users = users
        self.keep_tokens = keep_tokens

    async def _follow(self, browser, response):
        while response.status in (302, 303) and not response.headers["location"].startswith(self.redirect_uri):
            response = await browser.request("GET", _path(response.headers["location"]))
        return response

    async def step(self, conn):
        browser = Browser(conn)
        email, code = await self.users.take()
        authorize, verifier = authorization_request(self.realm, self.client_id, self.redirect_uri)
        page = await self._follow(browser, await browser.request("GET", authorize))
        if page.status != 200:
            return self.fail(f"authorize: {page.status} {page.text[:200]}")
        response = await browser.request("POST", form_action(page.body), body=urlencode(
            {"csrf_token": csrf_token(page.body), "email": email, "password": self.password}).encode())
        if response.status not in (302, 303):
            return self.fail(f"password: {response.status} {response.text[:300]}")
        page = await self._follow(browser, response)
        if page.status != 200:
            return self.fail(f"mfa page: {page.status} {page.text[:200]}")
        response = await browser.request("POST", form_action(page.body), body=urlencode(
            {"csrf_token": csrf_token(page.body), "code": code}).encode())
        response = await self._follow(browser, response)
        location = response.headers.get("location", "")
        if not location.startswith(self.redirect_uri):
            return self.fail(f"totp: {response.status} {response.text[:300]}")
        callback = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        token = await conn.request("POST", f"/realms/{self.realm}/token",
                                   headers={"Authorization": self.auth, "Content-Type": FORM},
                                   body=urlencode({"grant_type": "authorization_code", "code": callback["code"],
                                                   "redirect_uri": self.redirect_uri,
                                                   "code_verifier": verifier}).encode())
        if token.status != 200:
            return self.fail(f"token: {token.status} {token.text[:200]}")
        if self.keep_tokens is not None:
            self.keep_tokens.append(token.json())
        return True
