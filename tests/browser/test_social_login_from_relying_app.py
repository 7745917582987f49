"""Logging in to a relying app through an upstream OpenID Connect provider (a second instance of
this project on loopback). The user has MFA here: the first time, linking the upstream account
asks for their password and texted code once; after that no MFA prompt is shown for a federated
login (skip mode, the default)."""
from __future__ import annotations

import re

import pytest

from ..helpers import PASSWORD as UPSTREAM_PASSWORD
from ..social.conftest import start_upstream, stop_upstream
from .journeys import assert_back_at_demo, log_in_with_password, open_demo_and_click_log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_with_upstream(demo_server, tmp_path, migrated_instance):
    from idp.demo import DEMO_EMAIL
    from idp.social.providers import add_provider

    callback = f"{demo_server.realm_url()}/social/callback"
    upstream = start_upstream(tmp_path / "upstream", migrated_instance, callback, [(DEMO_EMAIL, True)])
    demo_server.change(lambda realm, user: add_provider(
        realm, kind="oidc", name="corp", display_name="Corp SSO", issuer=upstream.issuer,
        client_id=upstream.client_id, client_secret=upstream.client_secret, trust_email=True))
    yield demo_server, upstream
    stop_upstream(upstream)


def test_user_with_mfa_links_an_upstream_provider_once_then_logs_in_without_mfa_prompt(page, demo_with_upstream,
                                                                                       screenshot):
    from idp.demo import DEMO_EMAIL, DEMO_PASSWORD

    from .journeys import enter_code, log_out_of_demo, save_recovery_codes_and_continue

    demo, upstream = demo_with_upstream
    open_demo_and_click_log_in(page, demo)
    screenshot(page, "login-with-provider")
    page.get_by_role("link", name="Continue with Corp SSO").click()
    page.wait_for_url(re.compile(re.escape(upstream.issuer) + r"/login/"))
    screenshot(page, "upstream-login")
    log_in_with_password(page, DEMO_EMAIL, UPSTREAM_PASSWORD)

    page.get_by_text("Log in with its password once to link your Corp SSO account").wait_for()
    screenshot(page, "link-with-password")
    log_in_with_password(page, DEMO_EMAIL, DEMO_PASSWORD)
    enter_code(page, demo.outbox_code())
    save_recovery_codes_and_continue(page)
    assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd", "mfa", "sms"])
    log_out_of_demo(page, demo)
    texts = len(demo.outbox_recipients())

    open_demo_and_click_log_in(page, demo)
    page.get_by_role("link", name="Continue with Corp SSO").click()
    claims = assert_back_at_demo(page, demo, DEMO_EMAIL, ["fed"])
    assert claims["iss"] == demo.realm_url()
    assert len(demo.outbox_recipients()) == texts, "no SMS: the federated login skipped our MFA"
    screenshot(page, "demo-after-federated-login")
