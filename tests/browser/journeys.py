"""Steps that many browser stories share: start at the demo relying app, log in or register on the
hosted pages, and read what the app received back (the ID token claims it shows)."""
from __future__ import annotations

import json
import re

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD
from idp.login.acr import ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR


def open_demo_and_click_log_in(page, demo, screenshot=None):
    page.goto(demo.demo_url)
    if screenshot:
        screenshot(page, "demo-logged-out")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(demo.realm_url()) + r"/login/"))


def log_in_with_password(page, email=DEMO_EMAIL, password=DEMO_PASSWORD):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def register(page, email, password="a long and unusual passphrase", name="New Person"):
    """From the login page: "Create an account", fill the form, submit."""
    page.get_by_role("link", name="Create an account").click()
    page.get_by_role("heading", name="Create your account").wait_for()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create account").click()


def open_verification_link(page, demo, email):
    """On "Check your inbox" after registering: open the mailed link in this same browser and
    press its button; the login goes on (to the second-factor step, or back to the app)."""
    page.get_by_role("heading", name="Check your inbox").wait_for()
    page.goto(demo.mail_link(email, "Verify your email address"))
    page.get_by_role("heading", name="Verify your email address").wait_for()
    page.get_by_role("button", name="Verify email address").click()


def register_and_confirm(page, demo, email, password="a long and unusual passphrase", name="New Person"):
    register(page, email, password, name)
    open_verification_link(page, demo, email)


def id_token_claims(page) -> dict:
    """The claims the demo app shows after a login, as the app decoded them."""
    return json.loads(page.locator("pre").nth(0).inner_text())


def assert_back_at_demo(page, demo, email, amr) -> dict:
    """The browser is back at the relying app, logged in as ``email`` with exactly ``amr``."""
    page.wait_for_url(demo.demo_url)
    page.get_by_role("heading", name="You are logged in").wait_for()
    claims = id_token_claims(page)
    userinfo = json.loads(page.locator("pre").nth(1).inner_text())
    assert claims["email"] == email and userinfo["email"] == email
    assert claims["amr"] == amr, claims
    assert claims["acr"] == (ACR_MULTI_FACTOR if "mfa" in amr else ACR_SINGLE_FACTOR), claims
    return claims


def log_out_of_demo(page, demo):
    page.get_by_role("link", name="Log out").click()
    page.wait_for_url(demo.demo_url)
    page.get_by_role("heading", name="You are not logged in").wait_for()


def enter_code(page, code, button="Verify"):
    """On a page that asks for a code (texted, from an authenticator app, or a recovery code)."""
    page.get_by_label(re.compile(r"^(Code|Recovery code)$")).fill(code)
    page.get_by_role("button", name=button).click()


def enter_phone(page, number):
    page.get_by_label("Phone number").fill(number)
    page.get_by_role("button", name="Send code").click()


def save_recovery_codes_and_continue(page) -> list[str]:
    """On "Save your recovery codes": read the ten codes, tick the box, continue."""
    page.get_by_role("heading", name="Save your recovery codes").wait_for()
    codes = [code.strip() for code in page.locator("#recovery-codes li").all_inner_texts()]
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Continue").click()
    return codes
