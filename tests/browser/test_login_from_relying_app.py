"""A person on the demo relying app logs in, registers and meets errors, in a real browser."""
from __future__ import annotations

import pytest

from idp.demo import DEMO_EMAIL

from .journeys import assert_back_at_demo, log_in_with_password, open_demo_and_click_log_in, open_verification_link

pytestmark = pytest.mark.browser


def test_user_logs_in_from_the_relying_app_and_it_shows_their_claims(page, demo_without_mfa, screenshot):
    demo = demo_without_mfa
    open_demo_and_click_log_in(page, demo, screenshot)
    page.get_by_role("heading", name="Log in").wait_for()
    assert page.get_by_text("Demo App").count() >= 1, "the login page names the app the user logs in to"
    screenshot(page, "login")

    log_in_with_password(page)

    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd"])
    screenshot(page, "demo-logged-in")
    page.set_viewport_size({"width": 390, "height": 844})
    for block in page.locator("pre").all():
        assert block.evaluate("e => e.scrollHeight <= e.clientHeight && e.scrollWidth <= e.clientWidth"), \
            "every claim is visible on a phone, without scrolling inside the box"


def test_wrong_password_keeps_the_user_on_the_login_page_with_an_error(page, demo_without_mfa, screenshot):
    demo = demo_without_mfa
    open_demo_and_click_log_in(page, demo)
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    alert = page.get_by_role("alert")
    alert.first.wait_for()
    assert "Error" in alert.first.inner_text()
    assert page.get_by_label("Email").input_value() == DEMO_EMAIL
    screenshot(page, "login-wrong-password")

    log_in_with_password(page)
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd"])


def test_new_user_registers_and_lands_back_in_the_relying_app_logged_in(page, demo_without_mfa, screenshot):
    from idp.services.realms import update_realm

    demo = demo_without_mfa
    demo.change(lambda realm, user: update_realm(realm, mfa_registration_form=False))
    open_demo_and_click_log_in(page, demo)
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
    page.get_by_role("heading", name="Check your inbox").wait_for()
    screenshot(page, "register-check-your-inbox")
    open_verification_link(page, demo, "new.person@example.com")

    assert_back_at_demo(page, demo, "new.person@example.com", ["pwd"])
    assert "New Person" in page.locator("pre").nth(1).inner_text()


def test_unknown_client_gets_an_error_page_and_no_redirect(page, demo_server, screenshot):
    page.goto(f"{demo_server.realm_url()}/authorize?response_type=code&client_id=nope"
              "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid&state=x")
    assert page.url.startswith(demo_server.url), "an unknown client is never redirected to"
    assert page.get_by_role("heading").count() >= 1
    page.get_by_text("Return to the app you came from and try again.").wait_for()
    screenshot(page, "error")


def test_user_logs_out_from_the_relying_app(page, demo_without_mfa, screenshot):
    demo = demo_without_mfa
    open_demo_and_click_log_in(page, demo)
    log_in_with_password(page)
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd"])

    page.get_by_role("link", name="Log out").click()
    page.wait_for_load_state()
    screenshot(page, "after-log-out")
    page.wait_for_url(demo.demo_url)
    page.get_by_role("heading", name="You are not logged in").wait_for()
