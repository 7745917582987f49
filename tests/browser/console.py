"""The admin console in a real browser: an owner administrator (``idp admins create`` plus the
authenticator app they set up at their first login), their login to ``/admin`` through the
``admin`` realm's hosted pages and second factor, and the demo realm put back to how it is before
roq-mfa.txt's "MFA SMS setup" (no SMS integration, MFA off, the demo user without MFA or phone)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pyotp

from ..helpers import PASSWORD

OWNER_EMAIL = "owner@example.com"


@dataclass
class ConsoleOwner:
    email: str
    totp_secret: str

    def totp_code(self) -> str:
        """The app's code of the next time step: the step used at enrolment cannot be used again."""
        totp = pyotp.TOTP(self.totp_secret)
        now = dt.datetime.now(dt.timezone.utc)
        return totp.at(int(totp.timecode(now)) * totp.interval + totp.interval)


def create_console_owner(demo, email=OWNER_EMAIL) -> ConsoleOwner:
    from idp.admin.accounts import create_admin
    from idp.extensions import db
    from tests.helpers import generate_recovery_codes
    from tests.helpers import activate_totp, begin_totp_enrolment

    with demo.app.app_context():
        user = create_admin(email=email, password=PASSWORD, role="owner")
        device, secret = begin_totp_enrolment(user)
        assert activate_totp(user, device, pyotp.TOTP(secret).now())
        generate_recovery_codes(user)
        db.session.commit()
        db.session.remove()
    return ConsoleOwner(email, secret)


def before_the_seed_steps(realm, user) -> None:
    """``demo.change`` callback: the demo realm and user as they are before "MFA SMS setup"."""
    from idp.admin.operations import reset_factors
    from idp.services.mfa_users import admin_set_mfa
    from idp.services.realms import update_realm
    from idp.services.sms_integrations import list_integrations, remove_integration

    update_realm(realm, mfa_enabled=False, sms_enabled=False, totp_enabled=False, mfa_registration_form=False)
    for row in list_integrations(realm):
        remove_integration(row)
    reset_factors(user)
    admin_set_mfa(user, False)


def new_context_page(chromium):
    """A page in a browser context of its own (its own cookies): two of them are two people on
    two machines. The caller closes ``page.context``."""
    from .conftest import TIMEOUT_MS, VIEWPORTS

    context = chromium.new_context(viewport=VIEWPORTS["desktop"], locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def log_in_to_console(page, demo, owner: ConsoleOwner) -> None:
    """/admin sends the administrator through the admin realm's login: password, then the
    authenticator app's code; they land on the dashboard."""
    page.goto(f"{demo.url}/admin/")
    page.wait_for_url(re.compile(re.escape(demo.realm_url("admin")) + r"/login/"))
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code", exact=True).fill(owner.totp_code())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{demo.url}/admin/")
    page.get_by_role("heading", name="Dashboard").wait_for()


def open_realm_page(page, realm_name: str, link_name: str) -> None:
    """From anywhere in the console: Realms, the realm, then one of its pages in the sidebar."""
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Realms", exact=True).click()
    page.get_by_role("link", name=realm_name, exact=True).first.click()
    if link_name:
        page.get_by_role("navigation", name="Console").get_by_role("link", name=link_name, exact=True).click()
