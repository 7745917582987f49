"""What an operator and the people they support see, in Chromium: a support person creates a
user with an invitation in the console, the user chooses a password through the mailed link
(with "Show password") and logs in to the demo app, and the console then lists that browser's
session and ends it; an owner adds, edits, disables and deletes a login provider. Then the hosted
pages' edges in both themes: logout with Cancel, logout when nobody is logged in, the error page's
way back to the app, the demo outboxes, the disabled "Resend code" button, the favicon.

Every page is saved at both widths (``test-artifacts/screenshots``) and passes axe-core."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from idp.demo import DEMO_CLIENT_ID, DEMO_EMAIL, DEMO_PASSWORD, DEMO_REALM

from .console import create_console_owner, log_in_to_console, open_realm_page
from .journeys import assert_back_at_demo, enter_code, log_in_with_password, open_demo_and_click_log_in

pytestmark = pytest.mark.browser

INVITED = "invited.person@example.com"
INVITED_PASSWORD = "an invited person's passphrase"


def saved(page, message: str) -> None:
    expect(page.get_by_role("status").filter(has_text=message)).to_be_visible()


@pytest.fixture
def console_page(new_page):
    return new_page(bypass_csp=True)


def test_support_creates_an_invited_user_who_sets_a_password_and_whose_session_support_then_ends(
        console_page, new_page, demo_server, assert_accessible, screenshot):
    console, demo = console_page, demo_server
    log_in_to_console(console, demo, create_console_owner(demo))
    open_realm_page(console, DEMO_REALM, "Users")
    console.get_by_role("link", name="Create user").click()
    console.get_by_role("heading", name=re.compile("^New user")).wait_for()
    assert_accessible(console)
    screenshot(console, "console-user-new", fits_width=True)
    console.get_by_label("Email", exact=True).fill(INVITED)
    console.get_by_label("Name", exact=True).fill("Invited Person")
    expect(console.get_by_label(re.compile("^Send an invitation"))).to_be_checked()
    console.get_by_role("button", name="Create user").click()
    saved(console, f"{INVITED} was created and invited by mail to choose a password.")
    screenshot(console, "console-user-invited", fits_width=True)

    person = new_page(bypass_csp=True)
    person.goto(demo.mail_link(INVITED, "You are invited"))
    person.get_by_role("heading", name="Choose your password").wait_for()
    password = person.get_by_label("New password")
    password.fill(INVITED_PASSWORD)
    show = person.get_by_role("button", name="Show password")
    show.focus()
    person.keyboard.press("Space")
    expect(password).to_have_attribute("type", "text")
    expect(person.get_by_role("button", name="Hide password")).to_be_focused()
    assert_accessible(person)
    screenshot(person, "invitation-password-shown", fits_width=True)
    person.get_by_role("button", name="Set password").click()
    person.get_by_role("heading", name="Your account is ready").wait_for()
    expect(person.get_by_label("New password")).to_have_count(0)
    screenshot(person, "invitation-accepted", fits_width=True)
    open_demo_and_click_log_in(person, demo)
    log_in_with_password(person, INVITED, INVITED_PASSWORD)
    assert_back_at_demo(person, demo, INVITED, ["pwd"])

    console.reload()
    sessions = console.get_by_role("region", name="Sessions")
    expect(sessions.get_by_role("row")).to_have_count(2)
    expect(sessions.get_by_role("rowheader")).to_contain_text(re.compile("Chrom"))
    assert_accessible(console)
    screenshot(console, "console-user-sessions", fits_width=True)
    sessions.get_by_role("button", name=re.compile("^End session")).click()
    saved(console, f"The session of {INVITED} was ended.")
    expect(console.get_by_text("This user is not logged in anywhere.")).to_be_visible()

    person.goto(f"{demo.realm_url()}/account")
    person.get_by_role("heading", name="Log in").wait_for()


def test_an_owner_adds_edits_disables_and_deletes_a_login_provider(console_page, demo_server, assert_accessible,
                                                                  screenshot):
    console, demo = console_page, demo_server
    log_in_to_console(console, demo, create_console_owner(demo))
    open_realm_page(console, DEMO_REALM, "Login providers")
    expect(console.get_by_text("This realm has no login provider yet")).to_be_visible()
    console.get_by_label("Kind").select_option("oidc")
    console.get_by_label("Provider name").fill("corp")
    console.get_by_label("Display name").fill("Corp SSO")
    console.get_by_label("Issuer URL").fill("https://sso.example.com")
    console.get_by_label("Client ID").fill("idp-at-corp")
    console.get_by_label("Client secret").fill("an upstream secret")
    console.get_by_label("Two-factor authentication after this provider").select_option("require")
    console.get_by_role("button", name="Add provider").click()
    saved(console, "Provider corp added.")
    assert_accessible(console)
    screenshot(console, "console-provider", fits_width=True)

    console.get_by_label("Two-factor authentication after this provider").select_option("upstream")
    console.get_by_label("Allowed upstream amr values").fill("hwk")
    console.get_by_label("Display name").fill("Corporate login")
    console.get_by_role("button", name="Save provider").click()
    saved(console, "Provider corp saved.")
    expect(console.get_by_label("Two-factor authentication after this provider")).to_have_value("upstream")
    expect(console.get_by_label("Allowed upstream amr values")).to_have_value("hwk")

    open_realm_page(console, DEMO_REALM, "Login providers")
    row = console.get_by_role("row").filter(has=console.get_by_role("rowheader", name="corp"))
    expect(row.get_by_text("Upstream", exact=True)).to_be_visible()
    row.get_by_role("button", name="Disable corp").click()
    saved(console, "Provider corp is disabled.")
    expect(row.get_by_text("Disabled", exact=True)).to_be_visible()
    assert_accessible(console)
    screenshot(console, "console-providers", fits_width=True)

    console.get_by_role("link", name="corp", exact=True).click()
    console.get_by_role("button", name="Delete provider").click()
    expect(console.get_by_text("Tick the box to confirm the deletion.")).to_be_visible()
    console.get_by_label("Yes, delete corp permanently").check()
    console.get_by_role("button", name="Delete provider").click()
    saved(console, "Provider corp was deleted.")


# --- the hosted pages' edges, in both themes ----------------------------------------------------

@pytest.fixture(params=["default", "forest"])
def themed_demo(request, demo_server):
    from idp.services.clients import find_client
    from idp.services.realms import update_realm

    def dress(realm, user):
        update_realm(realm, theme=request.param)
        find_client(realm, DEMO_CLIENT_ID).home_uri = f"{demo_server.url}/demo/"

    demo_server.change(dress)
    demo_server.theme = request.param
    return demo_server


def look(page, theme, assert_accessible, screenshot, name, heading, axe_running):
    page.get_by_role("heading", name=heading, level=1).wait_for()
    assert page.locator("link[rel=stylesheet]").first.get_attribute("href") == f"/themes/{theme}/static/style.css"
    assert page.locator("link[rel=icon]").get_attribute("href") == f"/themes/{theme}/static/favicon.svg"
    axe_running.append(True)
    try:
        assert_accessible(page)
    finally:
        axe_running.clear()
    screenshot(page, name, fits_width=True)


def test_hosted_page_edges_in_each_theme(new_page, themed_demo, assert_accessible, screenshot):
    demo = themed_demo
    page = new_page(bypass_csp=True)
    missing, axe_running = [], []

    def note_missing(response):
        """A 404 the page itself caused (axe-core's own stylesheet preloading resolves the forest
        theme's ``@import`` against the page rather than the stylesheet, so not while it runs)."""
        if response.status == 404 and not axe_running:
            missing.append(response.url)

    page.on("response", note_missing)

    def seen(name, heading):
        look(page, demo.theme, assert_accessible, screenshot, name, heading, axe_running)

    page.goto(f"{demo.realm_url()}/logout?client_id={DEMO_CLIENT_ID}")
    seen("signed-out-without-a-session", "You are signed out")
    page.goto(f"{demo.realm_url()}/logout?client_id={DEMO_CLIENT_ID}&post_logout_redirect_uri="
              f"{demo.url}/demo/&state=bye")
    page.wait_for_url(f"{demo.url}/demo/?state=bye")

    page.goto(f"{demo.realm_url()}/authorize?client_id={DEMO_CLIENT_ID}&response_type=code&scope=openid"
              f"&redirect_uri=https://elsewhere.example/cb")
    seen("error-with-a-way-back", "We cannot start this login")
    page.get_by_role("link", name="Back to Demo App").click()
    page.wait_for_url(demo.demo_url)

    page.get_by_role("link", name="Log in").click()
    page.get_by_role("heading", name="Log in").wait_for()
    page.get_by_label("Password").fill("typed")
    page.get_by_role("button", name="Show password").click()
    expect(page.get_by_label("Password")).to_have_attribute("type", "text")
    seen("login-password-shown", "Log in")
    page.get_by_role("button", name="Hide password").click()
    log_in_with_password(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_role("heading", name=re.compile("^Enter the code")).wait_for()
    resend = page.get_by_role("button", name="Resend code")
    expect(resend).to_be_disabled()
    assert page.evaluate("getComputedStyle(document.getElementById('resend-button')).borderTopStyle") == "solid"
    seen("mfa-code-resend-waiting", re.compile("^Enter the code"))
    page.goto(f"{demo.url}/demo/outbox")
    seen("demo-sms-outbox", "Text messages")
    code = demo.outbox_code()
    page.go_back()
    enter_code(page, code)
    page.get_by_role("heading", name="Save your recovery codes").wait_for()
    page.get_by_label(re.compile("I have saved")).check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(demo.demo_url)

    page.goto(f"{demo.realm_url()}/logout?client_id={DEMO_CLIENT_ID}")
    seen("logout-confirm-with-cancel", "Log out")
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(demo.demo_url)
    page.get_by_role("heading", name="You are logged in").wait_for()
    page.goto(f"{demo.url}/demo/mail")
    seen("demo-mail-outbox", "Mail")

    invite(demo, f"{demo.theme}.invitee@example.com")
    page.goto(demo.mail_link(f"{demo.theme}.invitee@example.com", "You are invited"))
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Set password").click()
    page.get_by_role("alert").first.wait_for()
    seen("invitation-password-too-short", "Choose your password")
    page.get_by_label("New password").fill(INVITED_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    seen("invitation-accepted", "Your account is ready")

    assert not missing, missing


def invite(demo, email):
    """What the console's "Create user" with an invitation does, on the demo server."""
    from idp.extensions import db
    from idp.lifecycle.invitation import invite_user
    from idp.services.realms import get_realm

    with demo.app.test_request_context(base_url=demo.url):
        invite_user(get_realm(DEMO_REALM), email=email)
        db.session.commit()
        db.session.remove()
