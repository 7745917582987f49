"""Passkeys in Chromium, with its virtual authenticator (DevTools protocol ``WebAuthn``: ctap2,
internal transport, resident keys, user verification) driven through a Playwright CDP session:
real ceremonies from the page's script to py_webauthn, nothing mocked.

The provider answers as ``http://localhost:PORT``: a relying party id must be a domain name (an
IP address such as 127.0.0.1 is refused by the browser), and ``localhost`` is a secure context
without HTTPS."""
from __future__ import annotations

import re
import socket
import threading

import pytest
from werkzeug.serving import make_server

from .conftest import DemoServer
from .journeys import (
    assert_back_at_demo,
    enter_code,
    log_in_with_password,
    log_out_of_demo,
    open_demo_and_click_log_in,
    save_recovery_codes_and_continue,
)

pytestmark = pytest.mark.browser

PASSKEY_SIGN_IN_FAILED = "That passkey could not be used to sign in"


@pytest.fixture
def demo_server(make_app, instance_path):
    """``idp demo`` in-process at ``http://localhost:PORT`` (the demo realm, client and user)."""
    from idp.demo import setup_demo
    from idp.extensions import db

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://localhost:{port}"
    app = make_app(public_url=url)
    with app.app_context():
        setup_demo(url)
        db.session.remove()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield DemoServer(app, url, instance_path)
    server.shutdown()
    thread.join(timeout=5)


def _offer_passkeys(realm, user, sign_in=True):
    realm.set_factor_offered("webauthn", True)
    realm.passkey_sign_in = sign_in


def _offer_passkey_sign_in(realm, user):
    realm.passkey_sign_in = True


#: A browser whose autofill offers no passkeys: the login page's button is the way in.
NO_CONDITIONAL_MEDIATION = "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);"


def _with_virtual_authenticator(page):
    """A platform authenticator in this page's browser, holding discoverable credentials and
    verifying its user (as a phone or laptop with a fingerprint reader would)."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    session.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return session


def _log_in_with_texted_code(page, demo):
    open_demo_and_click_log_in(page, demo)
    log_in_with_password(page)
    page.get_by_role("heading", name=re.compile("Enter the code we sent")).wait_for()
    enter_code(page, demo.outbox_code())
    save_recovery_codes_and_continue(page)
    page.wait_for_url(demo.demo_url)


def _add_passkey_on_account_page(page, demo, screenshot, name="This laptop"):
    page.goto(demo.realm_url() + "/account")
    page.get_by_role("link", name="Add a passkey or security key").click()
    page.get_by_role("heading", name="Add a passkey or security key").wait_for()
    screenshot(page, "add-passkey")
    page.get_by_label("Passkey name").fill(name)
    page.get_by_role("button", name="Create passkey").click()
    page.get_by_text(f"Passkey '{name}' is set up.").wait_for()


def test_a_user_adds_a_passkey_then_uses_it_as_second_factor_and_to_sign_in_without_a_password(
        new_page, demo_server, screenshot):
    demo = demo_server
    demo.change(lambda realm, user: _offer_passkeys(realm, user, sign_in=False))
    page = new_page()
    _with_virtual_authenticator(page)

    _log_in_with_texted_code(page, demo)
    _add_passkey_on_account_page(page, demo, screenshot)
    passkeys = page.get_by_role("region", name="Passkeys and security keys")
    assert "This laptop" in passkeys.inner_text() and "This device only" in passkeys.inner_text()
    screenshot(page, "account-with-passkey")

    page.goto(demo.demo_url)
    log_out_of_demo(page, demo)
    open_demo_and_click_log_in(page, demo)
    log_in_with_password(page)
    page.get_by_role("heading", name="Use your passkey").wait_for()
    screenshot(page, "use-your-passkey")
    page.get_by_role("button", name="Verify").click()
    assert_back_at_demo(page, demo, "demo@example.com", ["pwd", "mfa", "hwk", "user"])

    demo.change(_offer_passkey_sign_in)
    log_out_of_demo(page, demo)
    # the login page asks for a passkey through the autofill (conditional mediation) as it
    # loads; the virtual authenticator, like a user picking it, answers at once
    page.get_by_role("link", name="Log in").click()
    assert_back_at_demo(page, demo, "demo@example.com", ["mfa", "hwk", "user"])

    log_out_of_demo(page, demo)
    page.context.add_init_script(NO_CONDITIONAL_MEDIATION)
    open_demo_and_click_log_in(page, demo)
    assert page.get_by_label("Email").get_attribute("autocomplete") == "username webauthn"
    screenshot(page, "login-with-passkey")
    page.get_by_role("button", name="Sign in with a passkey").click()
    assert_back_at_demo(page, demo, "demo@example.com", ["mfa", "hwk", "user"])


def test_a_removed_passkey_and_a_passkey_of_another_realm_are_refused(new_page, demo_server, screenshot,
                                                                      assert_accessible):
    demo = demo_server
    demo.change(_offer_passkeys)

    def other_realm(realm, user):
        from idp.services.realms import create_realm
        from idp.services.users import create_user

        other = create_realm("other", display_name="Other")
        other.mfa_enabled = True
        _offer_passkeys(other, None)
        create_user(other, email="demo@example.com", password="another long passphrase", email_verified=True)

    demo.change(other_realm)
    page = new_page(bypass_csp=True)  # for axe-core; the first story runs under the pages' CSP
    _with_virtual_authenticator(page)
    _log_in_with_texted_code(page, demo)
    _add_passkey_on_account_page(page, demo, screenshot)

    page.goto(demo.realm_url("other") + "/account")  # its login page tries the autofill's passkey
    page.get_by_text(PASSKEY_SIGN_IN_FAILED).wait_for()
    _ask_for_a_passkey_again_and_be_refused(page)
    assert "/realms/other/login/" in page.url
    screenshot(page, "passkey-of-another-realm")
    assert_accessible(page)

    page.goto(demo.realm_url() + "/account")
    passkeys = page.get_by_role("region", name="Passkeys and security keys")
    passkeys.get_by_role("button", name="Remove This laptop").click()
    page.get_by_text("This laptop removed.").wait_for()
    assert_accessible(page)
    page.goto(demo.demo_url)
    log_out_of_demo(page, demo)
    page.get_by_role("link", name="Log in").click()
    page.get_by_text(PASSKEY_SIGN_IN_FAILED).wait_for()
    _ask_for_a_passkey_again_and_be_refused(page)
    screenshot(page, "removed-passkey-refused")


def _ask_for_a_passkey_again_and_be_refused(page):
    """The refusal is already on the page from the autofill's attempt: wait for the button's own
    round trip to land, not just for the text, before looking at the page."""
    with page.expect_navigation(url=re.compile(r"[?&]passkey=failed")):
        page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_text(PASSKEY_SIGN_IN_FAILED).wait_for()
