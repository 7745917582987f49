"""A relying app's view of a hosted login, driven through Flask's test client: start an
authorization request, fill the hosted forms (with their CSRF tokens), exchange the code."""
from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import urlsplit

from .helpers import PASSWORD, csrf_token, query_params

REDIRECT_URI = "http://127.0.0.1:9999/callback"


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class HostedLogin:
    def __init__(self, http, realm_name, client_id, client_secret=None, redirect_uri=REDIRECT_URI):
        self.http = http
        self.realm = realm_name
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.page_url = None
        self.page = None
        self.response = None

    def authorize(self, **extra):
        self.verifier, challenge = pkce_pair()
        self.state = secrets.token_urlsafe(8)
        params = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                  "scope": "openid profile email", "state": self.state, "nonce": secrets.token_urlsafe(8),
                  "code_challenge": challenge, "code_challenge_method": "S256", **extra}
        return self._follow(self.http.get(f"/realms/{self.realm}/authorize", query_string=params))

    def _follow(self, response):
        """Follow redirects inside the provider; stop at a page or at the relying app."""
        while response.status_code in (302, 303) and not response.location.startswith(self.redirect_uri):
            location = response.location
            path = urlsplit(location)
            response = self.http.get(path.path, query_string=path.query)
            self.page_url = location
        self.response = response
        if response.status_code not in (302, 303):
            self.page = response.get_data(as_text=True)
        return response

    def get(self, url):
        self.page_url = url
        return self._follow(self.http.get(url))

    def submit(self, data: dict, url: str | None = None, token_field="csrf_token"):
        url = url or self.page_url
        form = {token_field: csrf_token(self.page), **data}
        return self._follow(self.http.post(url, data=form))

    def log_in(self, email="alice@example.com", password=PASSWORD):
        return self.submit({"email": email, "password": password})

    def register(self, email, password=PASSWORD, name=""):
        """From the login page: "Create an account", fill the form, submit. A registration ends
        on "Check your inbox" whether or not the address had an account."""
        match = re.search(r'<a href="([^"]*/register)"', self.page or "")
        assert match, f"no registration link on {self.page_url}"
        self.get(html.unescape(match.group(1)))
        return self.submit({"email": email, "password": password, "name": name})

    def open_mailed_link(self, url, **form):
        """Open a link from a mail in this browser and press the button of the page it shows
        (a verification link asks first, so that mail scanners do not use it up)."""
        self.get(url)
        return self.submit(form)

    def register_and_confirm(self, mailbox, email, password=PASSWORD, name=""):
        """Register, then open the verification link in this same browser: the login goes on."""
        self.register(email, password, name)
        assert "Check your inbox" in self.page, self.page
        return self.open_mailed_link(mailbox.link(email, about="Verify"))

    @property
    def redirected_to_app(self) -> bool:
        return self.response.status_code in (302, 303) and self.response.location.startswith(self.redirect_uri)

    def callback_params(self) -> dict:
        assert self.redirected_to_app, f"not back at the app: {self.response.status_code} {self.page_url}"
        return query_params(self.response.location)

    def exchange_code(self):
        params = self.callback_params()
        data = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": self.redirect_uri,
                "code_verifier": self.verifier}
        kwargs = {}
        if self.client_secret:
            kwargs["auth"] = (self.client_id, self.client_secret)
        else:
            data["client_id"] = self.client_id
        response = self.http.post(f"/realms/{self.realm}/token", data=data, **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()


def id_token_claims(token: dict) -> dict:
    import json

    payload = token["id_token"].split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def signed_in_with_tokens(http, realm_name, client_id, client_secret, email="alice@example.com", password=PASSWORD):
    """A browser that logged in to an app of ``realm_name``: its single-sign-on cookie is set,
    and the app holds an access token and a refresh token."""
    login = HostedLogin(http, realm_name, client_id, client_secret)
    login.authorize(scope="openid email offline_access")
    login.log_in(email, password)
    return login, login.exchange_code()


def what_still_works(login: HostedLogin, tokens: dict) -> dict:
    """Whether the browser's session opens the account page without a login, and whether the
    app's refresh token and access token are still accepted (the refresh rotates the token, so
    ask once per login)."""
    account = login.http.get(f"/realms/{login.realm}/account")
    userinfo = login.http.get(f"/realms/{login.realm}/userinfo",
                              headers={"Authorization": f"Bearer {tokens['access_token']}"})
    refreshed = login.http.post(f"/realms/{login.realm}/token",
                                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                                auth=(login.client_id, login.client_secret))
    return {"session": account.status_code == 200, "access_token": userinfo.status_code == 200,
            "refresh_token": refreshed.status_code == 200}
