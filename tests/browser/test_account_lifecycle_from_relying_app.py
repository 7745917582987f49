"""The account life cycle seen from the demo relying app (issue 7): a new user verifies their
address from the mail in the development outbox; a user who forgot their password resets it
from the login page, still passes their second factor, and every refresh token issued before
the reset stops working; a remembered browser skips the texted code until the user forgets it
on the account page.

Mail is written to ``<instance>/mail-outbox.jsonl`` by background threads (``demo.mail_link``
waits for it); texts go to the SMS outbox (``demo.outbox_code``)."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request

import pytest

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD
from idp.login.acr import ACR_MULTI_FACTOR

from .journeys import (
    assert_back_at_demo,
    id_token_claims,
    log_in_with_password,
    log_out_of_demo,
    open_demo_and_click_log_in,
    register,
)

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a freshly chosen passphrase"
CODE_HEADING = re.compile("Enter the code we sent to")


def enter_texted_code(page, demo, *, remember: bool = False):
    """On the MFA page of a login: the code from the SMS outbox, optionally ticking "Remember
    this device"."""
    page.get_by_role("heading", name=CODE_HEADING).wait_for()
    page.get_by_label("Code").fill(demo.outbox_code())
    if remember:
        page.get_by_label(re.compile(r"^Remember this device for \d+ days$")).check()
    page.get_by_role("button", name="Verify").click()


def give_demo_user_recovery_codes(demo):
    """The demo user saved recovery codes before: logins go straight from the code back to the app."""
    from tests.helpers import generate_recovery_codes

    demo.change(lambda realm, user: generate_recovery_codes(user))


# --- a second relying app that keeps its refresh token -------------------------------------------

def post_form(url: str, data: dict, auth: tuple[str, str]) -> tuple[int, dict]:
    """A back-channel POST from the app's server, with HTTP Basic client authentication."""
    basic = base64.b64encode(":".join(urllib.parse.quote(part, safe="") for part in auth).encode()).decode()
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(),
                                     headers={"Authorization": f"Basic {basic}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class NotesApp:
    """A confidential app of the demo realm, logged in through the browser's single sign-on; it
    keeps the refresh token it gets, as a server-side app does."""

    def __init__(self, demo):
        from idp.services.clients import create_client

        self.demo = demo
        self.redirect_uri = f"{demo.url}/notes/callback"

        def register_notes(realm, user):
            client, secret = create_client(realm, name="Notes", redirect_uris=[self.redirect_uri])
            return client.client_id, secret

        self.client_id, self.client_secret = demo.change(register_notes)
        self.token_url = f"{demo.realm_url()}/token"

    def log_in(self, page) -> dict:
        """Authorization code + PKCE in ``page``'s browser; returns the token response."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        page.route(f"{self.redirect_uri}*", lambda route: route.fulfill(body="Notes", content_type="text/plain"))
        page.goto(f"{self.demo.realm_url()}/authorize?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": "openid email offline_access", "state": "notes", "code_challenge": challenge,
            "code_challenge_method": "S256"}))
        page.wait_for_url(f"{self.redirect_uri}*")
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["code"][0]
        status, token = self.post({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": self.redirect_uri, "code_verifier": verifier})
        assert status == 200 and token.get("refresh_token"), token
        return token

    def refresh(self, refresh_token: str) -> tuple[int, dict]:
        return self.post({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def is_active(self, refresh_token: str) -> bool:
        """Introspection (RFC 7662), which does not use the token up as a refresh would."""
        status, answer = post_form(f"{self.demo.realm_url()}/introspect",
                                   {"token": refresh_token, "token_type_hint": "refresh_token"},
                                   (self.client_id, self.client_secret))
        assert status == 200, answer
        return answer["active"]

    def post(self, data: dict) -> tuple[int, dict]:
        return post_form(self.token_url, data, (self.client_id, self.client_secret))


# --- the stories ---------------------------------------------------------------------------------

def test_new_user_verifies_their_address_from_the_mail_and_the_id_token_says_so(page, demo_server, screenshot):
    from idp.services.realms import update_realm

    demo = demo_server
    demo.change(lambda realm, user: update_realm(realm, mfa_registration_form=False))
    email = "new.person@example.com"

    open_demo_and_click_log_in(page, demo)
    register(page, email)
    page.get_by_role("heading", name="Check your inbox").wait_for()
    screenshot(page, "register-check-your-inbox")
    assert not demo.read_user(email, lambda user: user.email_verified), "not verified before the link is opened"

    mail = demo.wait_for_mail(email, "Verify your email address")
    assert "24 hours" in mail["text"]
    page.goto(demo.mail_link(email, "Verify your email address"))
    page.get_by_role("heading", name="Verify your email address").wait_for()
    assert email in page.locator("main").inner_text()
    screenshot(page, "verify-email")
    page.get_by_role("button", name="Verify email address").click()
    claims = assert_back_at_demo(page, demo, email, ["pwd"])
    assert claims["email_verified"] is True, "the link opened in this browser continued the login"
    assert demo.read_user(email, lambda user: user.email_verified)

    log_out_of_demo(page, demo)
    page.get_by_role("link", name="Log in").click()
    log_in_with_password(page, email, "a long and unusual passphrase")
    claims = assert_back_at_demo(page, demo, email, ["pwd"])
    assert claims["email_verified"] is True, claims


def test_user_resets_a_forgotten_password_still_passes_mfa_and_old_refresh_tokens_stop_working(
        page, demo_server, screenshot):
    demo = demo_server
    give_demo_user_recovery_codes(demo)
    notes = NotesApp(demo)

    # before: logged in at the demo, and at a second app that keeps a refresh token
    open_demo_and_click_log_in(page, demo)
    log_in_with_password(page)
    enter_texted_code(page, demo)
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa", "sms"])
    refresh_token = notes.log_in(page)["refresh_token"]
    status, refreshed = notes.refresh(refresh_token)
    assert status == 200, refreshed
    refresh_token = refreshed["refresh_token"]
    page.goto(demo.demo_url)
    log_out_of_demo(page, demo)
    assert notes.is_active(refresh_token), "logging out of the browser leaves the app's refresh token alone"

    # the password is forgotten: "Forgot password?" on the login page
    page.get_by_role("link", name="Log in").click()
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_role("heading", name="Reset your password").wait_for()
    screenshot(page, "forgot-password")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_role("button", name="Send reset link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert DEMO_EMAIL in page.get_by_role("status").inner_text()
    screenshot(page, "reset-sent")

    # the link, in the same browser: a new password, then the second factor all the same
    page.goto(demo.mail_link(DEMO_EMAIL, "Reset your"))
    page.get_by_role("heading", name="Choose a new password").wait_for()
    screenshot(page, "reset-password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    page.wait_for_url(re.compile(r"/mfa/(sms|totp)"))
    enter_texted_code(page, demo)
    claims = assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa", "sms"])
    assert claims["email_verified"] is True

    assert not notes.is_active(refresh_token)
    status, answer = notes.refresh(refresh_token)
    assert (status, answer.get("error")) == (400, "invalid_grant"), answer

    log_out_of_demo(page, demo)
    page.get_by_role("link", name="Log in").click()
    log_in_with_password(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_role("alert").first.wait_for()
    assert "/login/" in page.url, "the old password no longer works"


def test_remembered_browser_skips_the_code_until_the_user_forgets_it_on_the_account_page(
        page, demo_server, screenshot):
    from idp.services.realms import update_realm

    demo = demo_server
    demo.change(lambda realm, user: update_realm(realm, remember_device_days=30))
    give_demo_user_recovery_codes(demo)

    open_demo_and_click_log_in(page, demo)
    log_in_with_password(page)
    page.get_by_role("heading", name=CODE_HEADING).wait_for()
    assert page.get_by_label("Remember this device for 30 days").is_visible()
    screenshot(page, "mfa-code-remember-device")
    enter_texted_code(page, demo, remember=True)
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa", "sms"])
    log_out_of_demo(page, demo)

    # the same browser, a new session: the password is enough
    texts_before = len(demo.outbox_recipients())
    visited = []
    page.on("request", lambda request: visited.append(request.url))
    page.get_by_role("link", name="Log in").click()
    log_in_with_password(page)
    page.wait_for_url(demo.demo_url)
    page.get_by_role("heading", name="You are logged in").wait_for()
    claims = id_token_claims(page)
    assert (claims["email"], claims["amr"], claims["acr"]) == (DEMO_EMAIL, ["pwd"], ACR_MULTI_FACTOR), claims
    assert not [url for url in visited if "/mfa" in url], visited
    assert len(demo.outbox_recipients()) == texts_before, "no code was texted"

    # the account page lists this browser; the user forgets it
    page.goto(f"{demo.realm_url()}/account")
    page.get_by_role("heading", name="Remembered devices").wait_for()
    devices = page.locator("section[aria-labelledby='remembered-heading'] li.device")
    assert devices.count() == 1
    device = devices.first.inner_text()
    assert "Chrome on Linux" in device and "This browser" in device and "127.0.0.1" in device, device
    screenshot(page, "account-remembered-devices")
    page.get_by_role("button", name=re.compile(r"^Forget Chrome on Linux")).click()
    page.get_by_text("Device forgotten.").wait_for()
    assert devices.count() == 0
    screenshot(page, "account-device-forgotten")

    page.goto(demo.demo_url)
    log_out_of_demo(page, demo)
    page.get_by_role("link", name="Log in").click()
    log_in_with_password(page)
    page.wait_for_url(re.compile(r"/mfa/(sms|totp)"))
    enter_texted_code(page, demo)
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa", "sms"])
