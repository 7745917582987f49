"""People enrol a second factor on the way from the demo relying app and back (the seed
workflows of roq-mfa.txt and authrocket-2fa.txt): a new user gives a phone (and fixes a mistyped
one), saves recovery codes, and a user scans an authenticator app's QR code."""
from __future__ import annotations

import io
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from PIL import Image
from playwright.sync_api import expect
from pyzbar.pyzbar import decode as decode_barcodes

from idp.demo import DEMO_EMAIL

from .journeys import (
    assert_back_at_demo,
    log_in_with_password,
    log_out_of_demo,
    open_demo_and_click_log_in,
    register_and_confirm,
    save_recovery_codes_and_continue,
)

pytestmark = pytest.mark.browser

WRONG_PHONE, RIGHT_PHONE = "+14155550199", "+14155550123"
RESEND_COOLDOWN = 2  # seconds; 30 by default


def _enter_phone(page, number):
    page.get_by_label("Phone number").fill(number)
    page.get_by_role("button", name="Send code").click()


def _enter_code(page, code):
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Verify").click()


def test_new_user_corrects_a_mistyped_phone_number_with_change_phone_number(page, make_demo_server, screenshot):
    from idp.services.realms import update_realm

    demo = make_demo_server(mfa={"resend_cooldown": RESEND_COOLDOWN})
    demo.change(lambda realm, user: update_realm(realm, totp_enabled=False))  # SMS is the only factor
    open_demo_and_click_log_in(page, demo)
    register_and_confirm(page, demo, "typo@example.com")

    page.get_by_role("heading", name="Enter your phone number").wait_for()
    screenshot(page, "mfa-phone")
    _enter_phone(page, "415 555 0199")
    page.get_by_role("alert").first.wait_for()
    assert page.get_by_label("Phone number").get_attribute("aria-invalid") == "true"
    screenshot(page, "mfa-phone-no-country-code")

    _enter_phone(page, WRONG_PHONE)
    page.get_by_role("heading", name=re.compile(r"Enter the code we sent to .*0199")).wait_for()
    assert demo.outbox_recipients() == [WRONG_PHONE]
    screenshot(page, "mfa-code-enrolment")

    page.get_by_role("link", name="Change phone number").click()
    page.get_by_role("heading", name="Enter your phone number").wait_for()
    assert page.get_by_label("Phone number").input_value() == WRONG_PHONE, "the typed number is kept to fix"
    _enter_phone(page, RIGHT_PHONE)
    # A corrected number is texted at once; the cool-down is per number (pumping many numbers
    # is held back by the distinct-numbers cap instead).
    page.get_by_role("heading", name=re.compile(r"Enter the code we sent to .*0123")).wait_for()
    assert demo.outbox_recipients() == [WRONG_PHONE, RIGHT_PHONE]

    _enter_code(page, demo.outbox_code(to=RIGHT_PHONE))
    save_recovery_codes_and_continue(page)

    assert_back_at_demo(page, demo, "typo@example.com", ["pwd", "mfa", "sms"])
    from idp.mfa.sms import phone_on_record, phone_verified

    phone = demo.read_user("typo@example.com",
                           lambda user: (phone_on_record(user), phone_verified(user), user.mfa_enabled))
    assert phone == (RIGHT_PHONE, True, True)


def test_new_user_registers_gives_a_phone_and_downloads_recovery_codes(page, demo_server, screenshot):
    demo = demo_server
    open_demo_and_click_log_in(page, demo)
    register_and_confirm(page, demo, "new.person@example.com")

    page.get_by_role("heading", name="Set up two-factor authentication").wait_for()
    screenshot(page, "mfa-choose-enrolment")
    page.get_by_role("link", name=re.compile("Text me a code")).click()
    page.get_by_role("heading", name="Enter your phone number").wait_for()
    _enter_phone(page, RIGHT_PHONE)

    page.get_by_role("heading", name=re.compile("Enter the code we sent to")).wait_for()
    _enter_code(page, demo.outbox_code(to=RIGHT_PHONE))

    page.get_by_role("heading", name="Save your recovery codes").wait_for()
    shown = [code.strip() for code in page.locator("#recovery-codes li").all_inner_texts()]
    status = page.locator("#copy-status")
    assert status.bounding_box()["height"] == 0, "the empty copy status leaves no gap"
    screenshot(page, "recovery-codes")
    page.get_by_role("button", name="Copy").click()
    expect(status).to_have_text(re.compile(r"\w"))  # copied, or how to copy by hand
    assert status.bounding_box()["height"] > 0
    screenshot(page, "recovery-codes-copied")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "demo-recovery-codes.txt"
    text = Path(download.path()).read_text(encoding="utf-8")
    downloaded = re.findall(r"^[a-z0-9]{5}-[a-z0-9]{5}$", text, re.MULTILINE)
    assert downloaded == shown and len(shown) == 10, text
    assert "new.person@example.com" in text

    assert save_recovery_codes_and_continue(page) == shown
    assert_back_at_demo(page, demo, "new.person@example.com", ["pwd", "mfa", "sms"])


def _scan_qr_code(locator) -> str:
    """What a phone's camera would read: a screenshot of the QR element, decoded."""
    image = Image.open(io.BytesIO(locator.screenshot())).convert("L")
    image = image.resize((image.width * 2, image.height * 2), Image.NEAREST)
    symbols = decode_barcodes(image)
    assert len(symbols) == 1, f"expected one QR code, found {len(symbols)}"
    return symbols[0].data.decode("utf-8")


def test_user_sets_up_an_authenticator_app_by_scanning_and_logs_in_with_it(page, demo_server, screenshot):
    demo = demo_server
    open_demo_and_click_log_in(page, demo)
    log_in_with_password(page)
    _enter_code(page, demo.outbox_code())
    save_recovery_codes_and_continue(page)
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa", "sms"])

    page.goto(f"{demo.realm_url()}/account")
    page.get_by_role("heading", name="Your account").wait_for()
    page.get_by_role("link", name="Set up authenticator app").click()
    page.get_by_role("heading", name="Set up authenticator app").wait_for()
    screenshot(page, "totp-setup")

    uri = _scan_qr_code(page.locator(".qr"))
    assert uri.startswith("otpauth://totp/"), uri
    assert unquote(urlsplit(uri).path) == f"/Demo:{DEMO_EMAIL}"
    assert parse_qs(urlsplit(uri).query)["issuer"] == ["Demo"]
    shown_key = page.locator(".secret").inner_text().replace(" ", "").upper()
    totp = pyotp.parse_uri(uri)
    assert totp.secret == shown_key, "the key for manual entry is the one in the QR code"

    page.get_by_label("Device name").fill("Pixel 8")
    page.get_by_label("Code", exact=True).fill(totp.now())
    page.get_by_role("button", name="Activate").click()
    page.get_by_role("heading", name="Your account").wait_for()
    assert page.locator(".device-name", has_text="Pixel 8").count() == 1
    screenshot(page, "account")

    page.goto(demo.demo_url)
    log_out_of_demo(page, demo)
    page.get_by_role("link", name="Log in").click()
    log_in_with_password(page)
    page.get_by_role("heading", name="Enter the code from your authenticator app").wait_for()
    assert page.get_by_role("link", name="Use another method").is_visible()
    assert page.get_by_role("link", name="Use a recovery code").is_visible()
    screenshot(page, "mfa-code-totp")
    # The activation code's time step is spent (replay); the app's next code is within the window.
    _enter_code(page, totp.at(time.time() + totp.interval))
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa", "otp"])
