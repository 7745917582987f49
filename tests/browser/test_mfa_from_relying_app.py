"""The demo as a newcomer meets it: the demo user has MFA with an administrator-set phone, so the
login asks for the texted code (read from the development outbox), then shows recovery codes."""
from __future__ import annotations

import re

import pytest

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_demo_user_logs_in_with_a_texted_code_and_saves_recovery_codes(page, demo_server, screenshot):
    demo = demo_server
    page.goto(demo.demo_url)
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url(re.compile(r"/mfa/code"))
    page.get_by_role("heading", name=re.compile("Enter the code we sent to")).wait_for()
    assert "0100" in page.get_by_role("heading").first.inner_text(), "the masked phone shows its last digits"
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
