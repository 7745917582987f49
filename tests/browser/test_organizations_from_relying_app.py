"""Organizations seen from an organization-scoped relying app (issue 16, acceptance): an
administrator invites someone to Globex with the billing role; they choose a password from the
mailed link, log in and join; the Invoices app, which requires an organization, then gets an
access token carrying Globex and the billing permissions. Someone who is not a member is turned
away with a clear page, and the app gets ``access_denied``."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import urllib.parse

import pytest

from .test_account_lifecycle_from_relying_app import post_form

pytestmark = pytest.mark.browser

INVITATION_LINK = re.compile(r"https?://[^\s\"<>]+/organization-invitations/[A-Za-z0-9_-]+")
NEW_HIRE = "new.hire@example.com"
OUTSIDER = "outsider@example.com"
PASSWORD = "a long and unusual passphrase"


def _claims(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class InvoicesApp:
    """A confidential app of the demo realm that requires an organization."""

    def __init__(self, demo):
        self.demo = demo
        self.redirect_uri = f"{demo.url}/invoices/callback"

        def set_up(realm, user):
            from idp.organizations.invitations import invite
            from idp.services import organizations, roles
            from idp.services.clients import create_client
            from idp.services.realms import update_realm
            from idp.services.users import create_user

            update_realm(realm, mfa_registration_form=False)
            roles.create_role(realm, "billing", permissions=["invoices:read", "invoices:write"])
            globex = organizations.create_organization(realm, "globex", display_name="Globex")
            client, secret = create_client(realm, name="Invoices", redirect_uris=[self.redirect_uri])
            organizations.set_client_organization_required(client, True)
            create_user(realm, email=OUTSIDER, password=PASSWORD, email_verified=True)
            with demo.app.test_request_context(base_url=demo.url):
                invite(globex, NEW_HIRE, role="billing", invited_by="owner@example.com")
            return client.client_id, secret, globex.id

        self.client_id, self.client_secret, self.globex_id = demo.change(set_up)

    def start_login(self, page, **params):
        self.verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        page.route(f"{self.redirect_uri}*", lambda route: route.fulfill(body="Invoices", content_type="text/plain"))
        page.goto(f"{self.demo.realm_url()}/authorize?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": "openid email roles", "state": "invoices", "code_challenge": challenge,
            "code_challenge_method": "S256", **params}))

    def callback(self, page) -> dict:
        page.wait_for_url(f"{self.redirect_uri}*")
        return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query).items()}

    def tokens(self, page) -> dict:
        code = self.callback(page)["code"]
        status, token = post_form(f"{self.demo.realm_url()}/token", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier}, (self.client_id, self.client_secret))
        assert status == 200, token
        return token


def test_an_invited_user_joins_globex_and_the_invoices_app_gets_its_permissions(page, demo_server, screenshot):
    demo = demo_server
    invoices = InvoicesApp(demo)

    mail = demo.wait_for_mail(NEW_HIRE, "You are invited to join Globex")
    page.goto(INVITATION_LINK.search(mail["text"]).group(0))
    page.get_by_role("heading", name="Choose your password").wait_for()
    screenshot(page, "organization-invitation-password")
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.get_by_label("Password").fill(PASSWORD)
    assert page.get_by_label("Email").input_value() == NEW_HIRE
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Join Globex").wait_for()
    screenshot(page, "organization-invitation-join")
    page.get_by_role("button", name="Join Globex").click()
    page.get_by_role("heading", name="Welcome to Globex").wait_for()

    invoices.start_login(page, organization="globex")
    token = invoices.tokens(page)

    access = _claims(token["access_token"])
    assert (access["org_id"], access["org_name"]) == (invoices.globex_id, "globex")
    assert access["org_roles"] == ["billing"]
    assert access["org_permissions"] == ["invoices:read", "invoices:write"]
    assert _claims(token["id_token"])["org_name"] == "globex"


def test_someone_who_is_not_a_member_is_turned_away_and_the_app_gets_access_denied(new_page, demo_server, screenshot,
                                                                                     assert_accessible):
    demo = demo_server
    invoices = InvoicesApp(demo)
    page = new_page(bypass_csp=True)  # for axe-core's script

    invoices.start_login(page, organization="globex")
    page.get_by_label("Email").fill(OUTSIDER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="You cannot sign in here").wait_for()
    assert "is not a member of the organization globex" in page.locator("main").inner_text()
    assert_accessible(page)
    screenshot(page, "organization-refused")
    page.get_by_role("button", name="Back to Invoices").click()

    assert invoices.callback(page)["error"] == "access_denied"
    assert demo.read_user(OUTSIDER, lambda user: user.last_login_at) is None, "nothing about the account changed"
