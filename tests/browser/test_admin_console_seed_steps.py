"""roq-mfa.txt "MFA SMS setup" done by an owner in the admin console in one browser, each step
proved on a relying-app login (the demo app) in a second browser: enable an SMS integration,
enable MFA on the login and registration forms (new users are asked for a phone; existing users
are not asked yet), enable MFA for an existing user with a phone (their next login asks for the
code texted to that phone)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from idp.demo import DEMO_EMAIL, DEMO_PHONE, DEMO_REALM

from .console import (
    before_the_seed_steps,
    create_console_owner,
    log_in_to_console,
    new_context_page,
    open_realm_page,
)
from .journeys import (
    assert_back_at_demo,
    log_in_with_password,
    log_out_of_demo,
    open_demo_and_click_log_in,
    register_and_confirm,
    save_recovery_codes_and_continue,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def new_browser_page(chromium):
    """``new_browser_page()``: a page in a new browser context, closed after the test."""
    pages = []

    def open_page():
        pages.append(new_context_page(chromium))
        return pages[-1]

    yield open_page
    for page in pages:
        page.context.close()


def saved(page, message: str) -> None:
    expect(page.get_by_role("status").filter(has_text=message)).to_be_visible()


def enable_an_sms_integration(console, screenshot) -> None:
    """Step 1, Integrations > SMS: add the development outbox and activate it."""
    open_realm_page(console, DEMO_REALM, "SMS integrations")
    expect(console.get_by_text("This realm has no SMS integration yet.")).to_be_visible()
    console.get_by_label("Provider").select_option("outbox")
    console.get_by_label("Integration name").fill("outbox")
    console.get_by_label("Activate now").check()
    console.get_by_role("button", name="Add integration").click()
    saved(console, "SMS integration outbox added.")
    row = console.get_by_role("row").filter(has=console.get_by_role("rowheader", name="outbox"))
    expect(row.get_by_text("Active", exact=True)).to_be_visible()
    screenshot(console, "console-sms-integrations")


def enable_mfa_on_the_forms(console, screenshot) -> None:
    """Step 2, the realm's settings: the master switch, SMS codes, and Two-factor Authentication
    on each form variant. The SMS switch is usable now that an integration is active."""
    open_realm_page(console, DEMO_REALM, "Settings")
    expect(console.get_by_label("SMS codes", exact=True)).to_be_enabled()
    console.get_by_label("Two-factor authentication (master switch)", exact=True).check()
    console.get_by_label("SMS codes", exact=True).check()
    console.get_by_label("Two-factor Authentication on the login form", exact=True).check()
    console.get_by_label("Two-factor Authentication on the registration form", exact=True).check()
    console.get_by_role("button", name="Save settings").click()
    saved(console, "Settings saved.")
    expect(console.get_by_label("Two-factor Authentication on the registration form", exact=True)).to_be_checked()
    screenshot(console, "console-realm-settings")


def enable_mfa_for_the_existing_user(console, screenshot) -> None:
    """Step 3, Users > User Details: "Two-factor Authentication" on, "Phone" set."""
    open_realm_page(console, DEMO_REALM, "Users")
    console.get_by_role("searchbox").fill(DEMO_EMAIL)
    console.get_by_role("button", name="Search").click()
    console.get_by_role("link", name=DEMO_EMAIL, exact=True).click()
    console.get_by_role("heading", name="User Details").wait_for()
    console.get_by_label("Two-factor Authentication", exact=True).check()
    console.get_by_label("Phone", exact=True).fill(DEMO_PHONE)
    console.get_by_role("button", name="Save User Details").click()
    saved(console, f"User Details of {DEMO_EMAIL} saved.")
    expect(console.get_by_label("Phone", exact=True)).to_have_value(DEMO_PHONE)
    screenshot(console, "console-user-details")


def test_owner_runs_the_roq_mfa_seed_steps_in_the_console_and_relying_app_logins_prove_each(
        make_demo_server, new_browser_page, screenshot):
    demo = make_demo_server()
    demo.change(before_the_seed_steps)
    owner = create_console_owner(demo)
    console, app = new_browser_page(), new_browser_page()

    log_in_to_console(console, demo, owner)
    screenshot(console, "console-dashboard")

    # before the steps: the existing user logs in with a password alone
    open_demo_and_click_log_in(app, demo)
    log_in_with_password(app)
    assert_back_at_demo(app, demo, DEMO_EMAIL, ["pwd"])
    log_out_of_demo(app, demo)

    enable_an_sms_integration(console, screenshot)
    enable_mfa_on_the_forms(console, screenshot)

    # "This configuration will impact new users who register": a newcomer is asked for a phone ...
    open_demo_and_click_log_in(app, demo)
    register_and_confirm(app, demo, "newcomer@example.com")
    app.get_by_role("heading", name="Enter your phone number").wait_for()
    screenshot(app, "relying-app-registration-asks-for-a-phone")
    # ... while the existing user, whose flag is still off, is not asked for a code
    app.context.clear_cookies()
    open_demo_and_click_log_in(app, demo)
    log_in_with_password(app)
    assert_back_at_demo(app, demo, DEMO_EMAIL, ["pwd"])
    log_out_of_demo(app, demo)
    assert demo.outbox_recipients() == []

    enable_mfa_for_the_existing_user(console, screenshot)

    open_demo_and_click_log_in(app, demo)
    log_in_with_password(app)
    app.get_by_role("heading", name=re.compile("Enter the code we sent to")).wait_for()
    assert "0100" in app.get_by_role("heading", name=re.compile("Enter the code")).inner_text()
    screenshot(app, "relying-app-sms-code")
    assert demo.outbox_recipients() == [DEMO_PHONE]
    app.get_by_label("Code", exact=True).fill(demo.outbox_code(DEMO_PHONE))
    app.get_by_role("button", name="Verify").click()
    save_recovery_codes_and_continue(app)
    assert_back_at_demo(app, demo, DEMO_EMAIL, ["pwd", "mfa", "sms"])
