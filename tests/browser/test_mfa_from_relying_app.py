"""Existing users log in from the demo relying app: the demo user has MFA with an
administrator-set phone, so the login asks for the texted code (read from the development
outbox) and shows recovery codes; a recovery code stands in for the phone; and a realm with its
two-factor switch off asks nobody for a second factor (roq-mfa.txt, "Disable MFA")."""
from __future__ import annotations

import re

import pytest

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD

from .journeys import assert_back_at_demo, log_in_with_password, open_demo_and_click_log_in

pytestmark = pytest.mark.browser


def test_demo_user_logs_in_with_a_texted_code_and_saves_recovery_codes(page, demo_server, screenshot):
    demo = demo_server
    page.goto(demo.demo_url)
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url(re.compile(r"/mfa/(sms|totp)"))
    page.get_by_role("heading", name=re.compile("Enter the code we sent to")).wait_for()
    assert "0100" in page.get_by_role("heading").first.inner_text(), "the masked phone shows its last digits"
    resend = page.get_by_role("button", name="Resend code")
    assert resend.is_disabled(), "a new code can be asked for after the cool-down"
    assert page.locator("#" + resend.get_attribute("aria-describedby")).inner_text().startswith(
        "You can request a new code in")
    screenshot(page, "mfa-code")

    code = demo.outbox_code()
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("alert").first.wait_for()
    screenshot(page, "mfa-code-wrong")

    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Save your recovery codes").wait_for()
    assert page.locator("#recovery-codes li").count() == 10
    screenshot(page, "recovery-codes")

    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(demo.demo_url)
    claims = page.locator("pre").nth(0).inner_text()
    assert f'"email": "{DEMO_EMAIL}"' in claims
    assert re.search(r'"amr": \[\s*"pwd",\s*"mfa",\s*"sms"\s*\]', claims), claims
    assert '"acr": "urn:idp:acr:mfa"' in claims
    screenshot(page, "demo-logged-in-with-mfa")


def test_user_without_their_phone_logs_in_with_a_recovery_code(page, demo_server, screenshot):
    from tests.helpers import generate_recovery_codes

    demo = demo_server
    codes = demo.change(lambda realm, user: generate_recovery_codes(user))
    open_demo_and_click_log_in(page, demo)
    log_in_with_password(page)
    page.get_by_role("heading", name=re.compile("Enter the code we sent to")).wait_for()

    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_role("heading", name="Use a recovery code").wait_for()
    screenshot(page, "mfa-recovery")
    page.get_by_label("Recovery code").fill(codes[3].upper())
    page.get_by_role("button", name="Verify").click()

    page.get_by_role("heading", name="Recovery code accepted").wait_for()
    assert "You have 9 recovery codes left." in page.get_by_role("status").inner_text()
    screenshot(page, "mfa-recovery-used")
    page.get_by_role("link", name="Continue").click()

    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa"])


def test_realm_with_two_factor_switched_off_asks_nobody_for_a_code(page, demo_server, screenshot):
    from idp.services.realms import update_realm

    demo = demo_server
    demo.change(lambda realm, user: update_realm(realm, mfa_enabled=False))
    assert demo.read_user(DEMO_EMAIL, lambda user: user.mfa_enabled), "the user still has MFA"
    visited = []
    page.on("request", lambda request: visited.append(request.url))

    open_demo_and_click_log_in(page, demo)
    log_in_with_password(page)

    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd"])
    assert not [url for url in visited if "/mfa" in url], visited
    assert demo.outbox_recipients() == [], "no code was texted"
