"""Every hosted page, reached the way a person reaches it, in both themes (issue 8): on each page
axe-core's WCAG 2.1 A/AA rules find nothing serious or critical, and the page is saved at desktop
and phone widths to ``test-artifacts/screenshots/`` for a reviewer to look at. Error states are
visited too (a wrong password, a wrong code), since error text is where contrast slips.

Four stories per theme cover the pages: a returning user (reset password, step-up on the
account page, authenticator app, log out, log in with every factor), a new user (register, the
mailed link opened in another browser then in this one, enrol a phone, consent to a third-party
app), a user whose address is not verified yet (check your inbox, the link opened on another
device) and a newcomer through an upstream provider that does not vouch for their address (check
your inbox, confirm). A fifth story logs in with the keyboard alone."""
from __future__ import annotations

import re

import pyotp
import pytest

from idp.demo import DEMO_EMAIL

from .journeys import (
    assert_back_at_demo,
    enter_code,
    enter_phone,
    log_in_with_password,
    open_demo_and_click_log_in,
    register,
    save_recovery_codes_and_continue,
)

pytestmark = pytest.mark.browser

THEMES = ["default", "forest"]
NEW_PASSWORD = "a freshly chosen passphrase"
CODE_HEADING = re.compile(r"^Enter the code (we sent to|from your authenticator app)")


class Tour:
    """Looks at each page the story reaches: in the theme's stylesheet, passing axe-core, then
    saved at both widths, neither of which scrolls sideways."""

    def __init__(self, theme, assert_accessible, screenshot):
        self.theme = theme
        self.assert_accessible = assert_accessible
        self.screenshot = screenshot

    def look(self, page, name: str, heading: str | re.Pattern):
        page.get_by_role("heading", name=heading, level=1).wait_for()
        stylesheet = page.locator("link[rel=stylesheet]").first.get_attribute("href")
        assert stylesheet == f"/themes/{self.theme}/static/style.css", f"{name}: {stylesheet}"
        self.assert_accessible(page)
        self.screenshot(page, name, fits_width=True)


@pytest.fixture(params=THEMES)
def theme(request):
    return request.param


@pytest.fixture
def themed_demo(demo_server, theme):
    from idp.services.realms import update_realm

    demo_server.change(lambda realm, user: update_realm(realm, theme=theme))
    return demo_server


@pytest.fixture
def tour(theme, assert_accessible, screenshot):
    return Tour(theme, assert_accessible, screenshot)


@pytest.fixture
def browser_page(new_page):
    """A page whose context lets axe-core's script tag past the pages' Content-Security-Policy."""
    return new_page(bypass_csp=True)


def factor_asked_for(page) -> str:
    heading = page.get_by_role("heading", name=CODE_HEADING, level=1)
    heading.wait_for()
    return "sms" if "sent to" in heading.inner_text() else "totp"


def wrong_code_for(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_returning_user_resets_a_password_steps_up_on_the_account_page_and_logs_in_with_every_factor(
        browser_page, new_page, themed_demo, tour):
    from idp.services.realms import update_realm

    page, demo = browser_page, themed_demo
    # A password alone opens the account page; its sensitive changes ask for the second factor.
    demo.change(lambda realm, user: update_realm(realm, mfa_login_form=False))

    page.goto(f"{demo.realm_url()}/authorize?client_id=no-such-app&response_type=code&scope=openid")
    tour.look(page, "error-unknown-app", "We cannot start this login")

    page.goto(f"{demo.realm_url()}/account")
    tour.look(page, "login-to-account", "Log in")
    log_in_with_password(page, DEMO_EMAIL, "not the password")
    page.get_by_role("alert").first.wait_for()
    tour.look(page, "login-wrong-password", "Log in")
    page.get_by_role("link", name="Forgot password?").click()
    tour.look(page, "forgot-password", "Reset your password")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_role("button", name="Send reset link").click()
    tour.look(page, "forgot-password-sent", "Check your email")

    # the mail is opened on another device: the new password is set there
    other_device = new_page(bypass_csp=True)
    other_device.goto(demo.mail_link(DEMO_EMAIL, "Reset your"))
    tour.look(other_device, "reset-password", "Choose a new password")
    other_device.get_by_label("New password").fill("short")
    other_device.get_by_role("button", name="Set new password").click()
    other_device.get_by_role("alert").first.wait_for()
    tour.look(other_device, "reset-password-too-short", "Choose a new password")
    other_device.get_by_label("New password").fill(NEW_PASSWORD)
    other_device.get_by_role("button", name="Set new password").click()
    tour.look(other_device, "reset-password-done", "Password changed")

    page.get_by_role("link", name="Back to log in").click()
    log_in_with_password(page, DEMO_EMAIL, NEW_PASSWORD)
    tour.look(page, "account", "Your account")

    page.get_by_role("link", name="Set up authenticator app").click()
    tour.look(page, "account-step-up-code", CODE_HEADING)
    enter_code(page, wrong_code_for(demo.outbox_code()))
    page.get_by_role("alert").first.wait_for()
    tour.look(page, "mfa-code-wrong", CODE_HEADING)
    enter_code(page, demo.outbox_code())
    tour.look(page, "recovery-codes", "Save your recovery codes")
    recovery_codes = save_recovery_codes_and_continue(page)

    tour.look(page, "totp-setup", "Set up authenticator app")
    totp = pyotp.TOTP(page.locator(".secret").inner_text().replace(" ", ""))
    page.get_by_label("Device name").fill("Work phone")
    enter_code(page, wrong_code_for(totp.now()), button="Activate")
    page.get_by_role("alert").first.wait_for()
    tour.look(page, "totp-setup-wrong-code", "Set up authenticator app")
    enter_code(page, totp.now(), button="Activate")
    page.locator(".device-name", has_text="Work phone").wait_for()
    tour.look(page, "account-with-authenticator", "Your account")

    page.goto(f"{demo.realm_url()}/logout")
    tour.look(page, "logout-confirm", "Log out")
    page.get_by_role("button", name="Log out").click()
    tour.look(page, "logged-out", "You have been logged out.")

    # from the relying app, with both factors and recovery codes to choose from
    demo.change(lambda realm, user: update_realm(realm, mfa_login_form=True))
    page.goto(demo.demo_url)
    tour.look(page, "demo-logged-out", "You are not logged in")
    page.get_by_role("link", name="Log in").click()
    tour.look(page, "login", "Log in")
    log_in_with_password(page, DEMO_EMAIL, NEW_PASSWORD)
    first = factor_asked_for(page)
    tour.look(page, f"mfa-code-{first}", CODE_HEADING)
    page.get_by_role("link", name="Use another method").click()
    tour.look(page, "mfa-choose", "Choose how to verify")
    page.get_by_role("link", name="Use an authenticator app" if first == "sms" else "Text me a code").click()
    second = factor_asked_for(page)
    assert {first, second} == {"sms", "totp"}
    tour.look(page, f"mfa-code-{second}", CODE_HEADING)

    page.get_by_role("link", name="Use a recovery code").click()
    tour.look(page, "mfa-recovery", "Use a recovery code")
    enter_code(page, "aaaaa-bbbbb")
    page.get_by_role("alert").first.wait_for()
    tour.look(page, "mfa-recovery-wrong", "Use a recovery code")
    enter_code(page, recovery_codes[0])
    tour.look(page, "mfa-recovery-used", "Recovery code accepted")
    page.get_by_role("link", name="Continue").click()
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa"])
    tour.look(page, "demo-logged-in", "You are logged in")


def test_new_user_registers_opens_the_mailed_link_enrols_a_phone_and_allows_a_third_party_app(
        browser_page, new_page, themed_demo, tour):
    from idp.services.clients import create_client

    page, demo = browser_page, themed_demo
    email = "new.person@example.com"
    printer_callback = f"{demo.url}/printer/callback"
    printer_id = demo.change(lambda realm, user: create_client(
        realm, name="Photo Printer", redirect_uris=[printer_callback], first_party=False)[0].client_id)

    open_demo_and_click_log_in(page, demo)
    page.get_by_role("link", name="Create an account").click()
    tour.look(page, "register", "Create your account")
    page.get_by_label("Email").fill("new.person@")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("alert").first.wait_for()
    tour.look(page, "register-invalid", "Create your account")
    page.get_by_role("link", name="Already have an account? Log in").click()
    register(page, email)
    tour.look(page, "register-check-your-inbox", "Check your inbox")

    # opened in another browser, the link asks for the password chosen when registering
    link = demo.mail_link(email, "Verify your email address")
    other_device = new_page(bypass_csp=True)
    other_device.goto(link)
    tour.look(other_device, "verify-registration-elsewhere", "Verify your email address")
    other_device.get_by_label("Password").fill("not the password")
    other_device.get_by_role("button", name="Verify email address").click()
    other_device.get_by_role("alert").first.wait_for()
    tour.look(other_device, "verify-registration-wrong-password", "Verify your email address")

    # opened in the browser that registered, it continues the login
    page.goto(link)
    tour.look(page, "verify-email-confirm", "Verify your email address")
    page.get_by_role("button", name="Verify email address").click()
    tour.look(page, "mfa-choose-enrolment", "Set up two-factor authentication")
    page.get_by_role("link", name=re.compile("Text me a code")).click()
    tour.look(page, "mfa-phone", "Enter your phone number")
    enter_phone(page, "415 555 0199")
    page.get_by_role("alert").first.wait_for()
    tour.look(page, "mfa-phone-invalid", "Enter your phone number")
    enter_phone(page, "+14155550123")
    tour.look(page, "mfa-code-enrolment", CODE_HEADING)
    enter_code(page, demo.outbox_code(to="+14155550123"))
    save_recovery_codes_and_continue(page)
    assert_back_at_demo(page, demo, email, ["pwd", "mfa", "sms"])

    page.route(f"{printer_callback}*", lambda route: route.fulfill(body="Photo Printer", content_type="text/plain"))
    page.goto(f"{demo.realm_url()}/authorize?client_id={printer_id}&response_type=code"
              f"&scope=openid%20profile%20email&state=printer&redirect_uri={printer_callback}")
    tour.look(page, "consent", "Allow Photo Printer to access your account?")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(re.escape(printer_callback) + r"\?code="))


def test_user_with_an_unverified_address_waits_at_check_your_inbox_until_another_device_opens_the_link(
        browser_page, new_page, themed_demo, tour):
    from idp.services.realms import update_realm
    from idp.services.users import create_user

    page, demo = browser_page, themed_demo
    email = "unverified@example.com"
    demo.change(lambda realm, user: update_realm(realm, require_email_verification=True))
    demo.change(lambda realm, user: create_user(realm, email=email, password=NEW_PASSWORD))

    open_demo_and_click_log_in(page, demo)
    log_in_with_password(page, email, NEW_PASSWORD)
    tour.look(page, "verify-email", "Check your inbox")

    # the mail is opened on another device: the link verifies there, the login goes on here
    other_device = new_page(bypass_csp=True)
    other_device.goto(demo.mail_link(email, "Verify your email address"))
    tour.look(other_device, "verify-email-confirm", "Verify your email address")
    other_device.get_by_role("button", name="Verify email address").click()
    tour.look(other_device, "email-verified", "Email address verified")
    page.get_by_role("link", name="Continue").click()
    assert_back_at_demo(page, demo, email, ["pwd"])


def test_newcomer_through_an_upstream_that_does_not_verify_addresses_proves_theirs_by_mail(
        browser_page, themed_demo, tour):
    from idp.social.providers import add_provider

    from ..social.scripted_upstream import ScriptedUpstream

    page, demo = browser_page, themed_demo
    upstream = ScriptedUpstream()
    try:
        upstream.claims.update(sub="newcomer-1", email="newcomer@example.com", email_verified=False)
        demo.change(lambda realm, user: add_provider(
            realm, kind="oidc", name="partner", display_name="Partner ID", issuer=upstream.issuer,
            client_id=upstream.client_id, client_secret=upstream.client_secret))
        open_demo_and_click_log_in(page, demo)
        page.get_by_role("link", name="Continue with Partner ID").click()
        tour.look(page, "social-check-email", "Check your inbox")
        page.goto(demo.mail_link("newcomer@example.com", "Confirm your email address"))
        tour.look(page, "social-check-email-confirm", "Verify your email address")
        page.get_by_role("button", name="Verify email address").click()
        assert_back_at_demo(page, demo, "newcomer@example.com", ["fed"])
    finally:
        upstream.stop()
        from idp.social import upstream as upstream_module

        upstream_module._metadata_cache.clear()


def test_the_accessibility_check_reports_what_a_person_would_trip_over(browser_page, assert_accessible):
    browser_page.set_content('<html><body><p style="color: #bbb">Faint text</p>'
                             '<input type="text"><button></button></body></html>')
    with pytest.raises(AssertionError) as failure:
        assert_accessible(browser_page)
    report = str(failure.value)
    for rule in ("color-contrast", "label", "button-name", "html-has-lang", "document-title"):
        assert f" {rule}: " in report, report
    assert "p: " in report and "input: " in report, "each violation names the elements"


FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || el.value || '').trim(),
          outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def tab_to(page, matches, limit=25) -> dict:
    """Press Tab until the focused element ``matches`` (no Tab if it already has the focus, as
    an autofocused field does); it must show a focus outline."""
    focused = page.evaluate(FOCUSED)
    for _ in range(limit):
        if matches(focused):
            assert focused["outline"] != "none" and focused["width"] >= 2, f"no visible focus on {focused}"
            return focused
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
    raise AssertionError(f"Tab never reached the element; last focused {focused}")


def test_user_logs_in_with_a_texted_code_using_only_the_keyboard(page, demo_server, screenshot):
    from tests.helpers import generate_recovery_codes

    demo = demo_server
    demo.change(lambda realm, user: generate_recovery_codes(user))
    page.goto(demo.demo_url)
    tab_to(page, lambda el: el["tag"] == "a" and el["text"] == "Log in")
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Log in").wait_for()
    tab_to(page, lambda el: el["id"] == "email")
    page.keyboard.type(DEMO_EMAIL)
    tab_to(page, lambda el: el["id"] == "password")
    page.keyboard.type("correct-horse-battery")
    tab_to(page, lambda el: el["tag"] == "button" and el["text"] == "Log in")
    screenshot(page, "login-focus-on-button")
    page.keyboard.press("Enter")

    page.get_by_role("heading", name=CODE_HEADING).wait_for()
    tab_to(page, lambda el: el["id"] == "code")
    page.keyboard.type(demo.outbox_code())
    screenshot(page, "mfa-code-focus-on-field")
    page.keyboard.press("Enter")
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa", "sms"])
