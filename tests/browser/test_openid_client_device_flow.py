"""openid-client 6 (Node), as a TV app would use it, connects through the Device Authorization
Grant (RFC 8628): it shows a code, the demo user enters it in Chromium on "Connect a device",
goes through the same login as every app's (password, texted code, recovery codes, consent) and
allows the device; openid-client, polling meanwhile, gets the tokens, refreshes them and reads
userinfo."""
from __future__ import annotations

import re

import pytest

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD

from ..relying_parties.node import NodeRelyingParty

pytestmark = pytest.mark.browser

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def demo_with_a_tv(make_demo_server):
    from idp.services.clients import create_client

    demo = make_demo_server(tokens={"device_code_interval": 1})
    demo.change(lambda realm, user: create_client(realm, name="Living-room TV", public=True, client_id="tv",
                                                  redirect_uris=[], grant_types=[DEVICE_GRANT, "refresh_token"]))
    return demo


@pytest.fixture
def tv(demo_with_a_tv):
    started = []

    def start(**env):
        party = NodeRelyingParty("device.mjs", {"ISSUER": demo_with_a_tv.realm_url(), "CLIENT_ID": "tv", **env})
        started.append(party)
        return party

    yield start
    for party in started:
        party.close()


def test_a_tv_on_openid_client_is_approved_in_the_browser_with_the_full_login(page, demo_with_a_tv, tv,
                                                                            screenshot):
    demo = demo_with_a_tv
    device = tv()
    shown = device.next_line()
    assert shown["step"] == "code", shown
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", shown["user_code"])

    page.goto(shown["verification_uri"])
    page.get_by_role("heading", name="Connect a device").wait_for()
    screenshot(page, "device-enter-code")
    page.get_by_label("Code").fill(shown["user_code"].lower())
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/mfa/(sms|totp)"))
    page.get_by_label("Code").fill(demo.outbox_code())
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Save your recovery codes").wait_for()
    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("heading", name="Allow Living-room TV to access your account?").wait_for()
    screenshot(page, "device-consent")
    page.get_by_role("button", name="Allow").click()
    page.get_by_role("heading", name="Your device is connected").wait_for()
    screenshot(page, "device-connected")

    result = device.next_line()
    assert result["step"] == "tokens", result
    assert result["token_type"].lower() == "bearer" and result["has_refresh_token"] and result["refreshed"]
    assert result["userinfo"]["preferred_username"] == DEMO_EMAIL
    assert result["access_token_claims"]["amr"] == ["pwd", "mfa", "sms"]
    assert result["access_token_claims"]["client_id"] == "tv"


def test_openid_client_reports_access_denied_when_the_user_refuses_the_device(page, demo_with_a_tv, tv):
    from idp.services.mfa_users import admin_set_mfa

    demo_with_a_tv.change(lambda realm, user: admin_set_mfa(user, False))
    device = tv(SCOPE="openid")
    shown = device.next_line()

    page.goto(shown["verification_uri_complete"])
    assert page.get_by_label("Code").input_value() == shown["user_code"], "the complete URI fills the code in"
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Deny").click()
    page.get_by_role("heading", name="Access denied").wait_for()

    result = device.next_line()
    assert result["step"] == "error" and result["error"] == "access_denied", result
