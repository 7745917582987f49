"""A single-page app served from its own origin (another loopback port) logs its user in with
code + PKCE, then calls the provider from JavaScript: the token endpoint, and userinfo with the
access token in an ``Authorization`` header, which makes Chromium send a CORS preflight. The
same page served from an origin no client registered is refused by the browser."""
from __future__ import annotations

import json
import socket
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .journeys import log_in_with_password

pytestmark = pytest.mark.browser

SPA_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Single-page app</title></head>
<body><h1>Single-page app</h1><pre id="result">working</pre>
<script>
const config = %(config)s;
const show = (value) => { document.getElementById("result").textContent = JSON.stringify(value); };
const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");

async function logIn() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem("verifier", verifier);
  const query = new URLSearchParams({response_type: "code", client_id: config.client_id,
    redirect_uri: config.redirect_uri, scope: "openid email", state: "spa-state",
    code_challenge: challenge, code_challenge_method: "S256"});
  location.assign(`${config.issuer}/authorize?${query}`);
}

async function userinfo(accessToken) {
  const response = await fetch(`${config.issuer}/userinfo`, {headers: {Authorization: `Bearer ${accessToken}`}});
  return {status: response.status, body: await response.json()};
}

async function finishLogIn() {
  const code = new URLSearchParams(location.search).get("code");
  const response = await fetch(`${config.issuer}/token`, {method: "POST", body: new URLSearchParams({
    grant_type: "authorization_code", code, redirect_uri: config.redirect_uri, client_id: config.client_id,
    code_verifier: sessionStorage.getItem("verifier")})});
  const token = await response.json();
  window.accessToken = token.access_token;
  show({token_status: response.status, userinfo: await userinfo(token.access_token)});
}

window.userinfo = userinfo;
if (location.pathname === "/callback") finishLogIn().catch((error) => show({error: String(error)}));
else if (location.pathname === "/login") logIn();
</script></body></html>
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def single_page_app(demo_without_mfa):
    """The app's own little web server on another port, and its public client in the demo
    realm, registered with a redirect URI on that port's 127.0.0.1 origin."""
    from idp.services.clients import create_client

    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    client_id = demo_without_mfa.change(lambda realm, user: create_client(
        realm, name="Single-page app", redirect_uris=[f"{origin}/callback"], public=True)[0].client_id)
    config = json.dumps({"issuer": demo_without_mfa.realm_url(), "client_id": client_id,
                         "redirect_uri": f"{origin}/callback"})

    @Request.application
    def serve(request):
        return Response(SPA_PAGE % {"config": config}, content_type="text/html; charset=utf-8")

    server = make_server("127.0.0.1", port, serve, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield port
    server.shutdown()
    thread.join(timeout=5)


def test_a_single_page_app_calls_userinfo_from_its_registered_origin(page, single_page_app, screenshot):
    from idp.demo import DEMO_EMAIL

    page.goto(f"http://127.0.0.1:{single_page_app}/login")
    log_in_with_password(page)
    page.wait_for_url(f"http://127.0.0.1:{single_page_app}/callback?*")
    page.locator("#result").filter(has_not_text="working").wait_for()
    result = json.loads(page.locator("#result").text_content())
    screenshot(page, "userinfo")

    assert result["token_status"] == 200, result
    assert result["userinfo"]["status"] == 200, result
    assert result["userinfo"]["body"]["email"] == DEMO_EMAIL

    with_form_body = page.evaluate("""async () => {
        const response = await fetch(`${config.issuer}/userinfo`, {method: "POST",
            body: new URLSearchParams({access_token: window.accessToken})});
        return {status: response.status, email: (await response.json()).email};
    }""")
    assert with_form_body == {"status": 200, "email": DEMO_EMAIL}

    without_token = page.evaluate("""async () => {
        const response = await fetch(`${config.issuer}/userinfo`);
        return {status: response.status, challenge: response.headers.get("WWW-Authenticate")};
    }""")
    # Two challenges (RFC 6750 and RFC 9449 §7.1), which the browser joins into one header value.
    assert without_token == {"status": 401,
                             "challenge": f'Bearer realm="{_issuer(page)}", DPoP algs="ES256 RS256 PS256 EdDSA"'}

    access_token = page.evaluate("window.accessToken")
    page.goto(f"http://localhost:{single_page_app}/")
    refused = page.evaluate("""async (token) => {
        try { return await window.userinfo(token); } catch (error) { return {refused: String(error)}; }
    }""", access_token)
    assert refused == {"refused": "TypeError: Failed to fetch"}, "no client registered http://localhost:PORT"


def _issuer(page) -> str:
    return page.evaluate("config.issuer")
