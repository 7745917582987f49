"""A person on the demo relying app logs in, registers and meets errors, in a real browser."""
from __future__ import annotations

import re

import pytest

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def _open_demo_and_click_log_in(page, demo, screenshot=None):
    page.goto(demo.demo_url)
    if screenshot:
        screenshot(page, "demo-logged-out")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(demo.realm_url()) + r"/login/"))


def _assert_logged_in_as(page, demo, email):
    page.wait_for_url(demo.demo_url)
    page.get_by_role("heading", name="You are logged in").wait_for()
    claims = page.locator("pre").nth(0).inner_text()
    userinfo = page.locator("pre").nth(1).inner_text()
    assert f'"email": "{email}"' in claims
    assert f'"email": "{email}"' in userinfo
    assert '"amr"' in claims and '"pwd"' in claims


def test_user_logs_in_from_the_relying_app_and_it_shows_their_claims(page, demo_without_mfa, screenshot):
    demo = demo_without_mfa
    _open_demo_and_click_log_in(page, demo, screenshot)
    page.get_by_role("heading", name="Log in").wait_for()
    assert page.get_by_text("Demo App").count() >= 1, "the login page names the app the user logs in to"
    screenshot(page, "login")

    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    _assert_logged_in_as(page, demo, DEMO_EMAIL)
    screenshot(page, "demo-logged-in")


def test_wrong_password_keeps_the_user_on_the_login_page_with_an_error(page, demo_without_mfa, screenshot):
    demo = demo_without_mfa
    _open_demo_and_click_log_in(page, demo)
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    alert = page.get_by_role("alert")
    alert.first.wait_for()
    assert "Error" in alert.first.inner_text()
    assert page.get_by_label("Email").input_value() == DEMO_EMAIL
    screenshot(page, "login-wrong-password")

    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    _assert_logged_in_as(page, demo, DEMO_EMAIL)


def test_new_user_registers_and_lands_back_in_the_relying_app_logged_in(page, demo_without_mfa, screenshot):
    from idp.services.realms import update_realm

    demo = demo_without_mfa
    demo.change(lambda realm, user: update_realm(realm, mfa_registration_form=False))
    _open_demo_and_click_log_in(page, demo)
    page.get_by_role("link", name="Create an account").click()
    page.get_by_role("heading", name="Create your account").wait_for()
    screenshot(page, "register")

    page.get_by_label("Email").fill("new.person@example.com")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("alert").first.wait_for()
    screenshot(page, "register-weak-password")

    page.get_by_label("Password").fill("a long and unusual passphrase")
    page.get_by_label("Name").fill("New Person")
    page.get_by_role("button", name="Create account").click()

    _assert_logged_in_as(page, demo, "new.person@example.com")
    assert "New Person" in page.locator("pre").nth(1).inner_text()


def test_unknown_client_gets_an_error_page_and_no_redirect(page, demo_server, screenshot):
    page.goto(f"{demo_server.realm_url()}/authorize?response_type=code&client_id=nope"
              "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid&state=x")
    assert page.url.startswith(demo_server.url), "an unknown client is never redirected to"
    assert page.get_by_role("heading").count() >= 1
    screenshot(page, "error")


def test_user_logs_out_from_the_relying_app(page, demo_without_mfa, screenshot):
    demo = demo_without_mfa
    _open_demo_and_click_log_in(page, demo)
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    _assert_logged_in_as(page, demo, DEMO_EMAIL)

    page.get_by_role("link", name="Log out").click()
    page.wait_for_load_state()
    screenshot(page, "after-log-out")
    page.wait_for_url(demo.demo_url)
    page.get_by_role("heading", name="You are not logged in").wait_for()
