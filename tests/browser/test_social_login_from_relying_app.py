"""Logging in to a relying app through an upstream OpenID Connect provider (a second instance of
this project on loopback): the user has MFA here, yet no MFA prompt is shown for a federated login."""
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
        client_id=upstream.client_id, client_secret=upstream.client_secret))
    yield demo_server, upstream
    stop_upstream(upstream)


def test_user_with_mfa_logs_in_through_upstream_provider_without_mfa_prompt(page, demo_with_upstream, screenshot):
    from idp.demo import DEMO_EMAIL

    demo, upstream = demo_with_upstream
    open_demo_and_click_log_in(page, demo)
    screenshot(page, "login-with-provider")
    page.get_by_role("link", name="Continue with Corp SSO").click()
    page.wait_for_url(re.compile(re.escape(upstream.issuer) + r"/login/"))
    screenshot(page, "upstream-login")
    log_in_with_password(page, DEMO_EMAIL, UPSTREAM_PASSWORD)
    claims = assert_back_at_demo(page, demo, DEMO_EMAIL, ["pwd"])
    assert claims["iss"] == demo.realm_url()
    assert demo.outbox_recipients() == [], "no SMS: the federated login skipped our MFA"
    screenshot(page, "demo-after-federated-login")
