"""Fixtures for the admin console: administrators made through the services (with an active
authenticator app, as after their first login), and browsers (Flask test clients) that log in
through the ``admin`` realm's hosted pages exactly as a person would: password, then the code
from the authenticator app.

Set-up and database checks run in their own short app contexts (``in_app``)."""
from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyotp
import pytest

from ..helpers import PASSWORD, Factory, csrf_token

TARGET_REALM = "acme"
PHONE = "+14155550100"


@pytest.fixture
def in_app(app):
    @contextlib.contextmanager
    def context():
        with app.app_context():
            yield app

    return context


@dataclass
class AdminSetup:
    email: str
    role: str
    totp_secret: str

    def totp_code(self, steps_ahead: int = 1) -> str:
        """A code from a later time step than the one used at enrolment (codes are single-use)."""
        totp = pyotp.TOTP(self.totp_secret)
        now = dt.datetime.now(dt.timezone.utc)
        return totp.at(int(totp.timecode(now)) * totp.interval + steps_ahead * totp.interval)


@pytest.fixture
def admin_factory(in_app):
    """``admin_factory("operator")``: an administrator (``idp admins create``) who has set up an
    authenticator app and saved recovery codes, so the next login asks for the app's code."""

    def make(role="owner", email=None) -> AdminSetup:
        from idp.admin.accounts import create_admin
        from idp.extensions import db
        from tests.helpers import generate_recovery_codes
        from tests.helpers import activate_totp, begin_totp_enrolment

        with in_app():
            user = create_admin(email=email or f"{role}@example.com", password=PASSWORD, role=role)
            device, secret = begin_totp_enrolment(user)
            assert activate_totp(user, device, pyotp.TOTP(secret).now())
            generate_recovery_codes(user)
            db.session.commit()
            return AdminSetup(user.email, role, secret)

    return make


class ConsoleBrowser:
    """A browser on the console: follows redirects inside the provider, keeps the last page,
    and sends the session's CSRF token with every form (one token serves the whole session)."""

    def __init__(self, http):
        self.http = http
        self.page = ""
        self.response = None
        self.url = None
        self.token = None

    def _follow(self, response, limit=15):
        while response.status_code in (301, 302, 303) and limit:
            location = urlsplit(response.location)
            self.url = location.path + (f"?{location.query}" if location.query else "")
            response = self.http.get(location.path, query_string=location.query)
            limit -= 1
        self.response = response
        self.page = response.get_data(as_text=True)
        if "csrf_token" in self.page:
            self.token = csrf_token(self.page)
        return response

    def get(self, path, **kwargs):
        self.url = path
        return self._follow(self.http.get(path, **kwargs))

    def post(self, path, data=None, *, prefix="", follow=True):
        form = {f"{prefix}csrf_token": self.token, **(data or {})}
        response = self.http.post(path, data=form)
        if not follow:
            return response
        return self._follow(response)

    def submit_page(self, data):
        """Submit the form of the current hosted page to the page's own address."""
        form = {"csrf_token": csrf_token(self.page), **data}
        return self._follow(self.http.post(self.url, data=form))

    @property
    def status(self):
        return self.response.status_code

    def text(self) -> str:
        without_tags = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", self.page, flags=re.S)
        return " ".join(html.unescape(without_tags).split())


def log_in(browser: ConsoleBrowser, admin: AdminSetup) -> ConsoleBrowser:
    browser.get("/admin/")
    assert "/realms/admin/login/" in browser.url, browser.url
    browser.submit_page({"email": admin.email, "password": PASSWORD})
    assert re.search(r"/mfa/(sms|totp|recovery)$", browser.url), browser.url
    browser.submit_page({"code": admin.totp_code()})
    assert browser.status == 200 and browser.url.startswith("/admin"), (browser.url, browser.status)
    return browser


@pytest.fixture
def console(app, admin_factory):
    """``console("viewer")``: a browser logged in to the console as a new admin of that role."""

    def make(role="owner", email=None) -> ConsoleBrowser:
        return log_in(ConsoleBrowser(app.test_client()), admin_factory(role, email))

    return make


@dataclass
class TargetRealm:
    name: str
    client_id: str
    client_secret: str


@pytest.fixture
def target_realm(in_app):
    """The realm the seed's steps are applied to: a client and a user, MFA all off, no SMS
    integration yet (the console adds one)."""

    def make(name=TARGET_REALM) -> TargetRealm:
        with in_app() as app:
            factory = Factory(app)
            realm = factory.realm(name)
            client_id, secret = factory.client(realm, client_credentials=True)
            factory.user(realm, email="alice@example.com")
            return TargetRealm(name, client_id, secret)

    return make


@pytest.fixture
def audit_events(in_app):
    """The audit events of a type, oldest first, as (details, user_id) pairs."""

    def read(event_type):
        from idp.extensions import db
        from idp.models import AuditEvent

        with in_app():
            rows = db.session.scalars(db.select(AuditEvent).filter_by(event_type=event_type).order_by(AuditEvent.id))
            return [(dict(r.details or {}), r.user_id) for r in rows]

    return read


def user_id(in_app, realm_name, email):
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    with in_app():
        return get_user(get_realm(realm_name), email).id


def remember_a_device(user, days=30):
    """A browser ``user`` ticked "Remember this device" in, as ``remember_device`` stores it."""
    from idp.extensions import db
    from idp.models import RememberedDevice, utcnow
    from idp.security import keyed_digest, random_token

    now = utcnow()
    device = RememberedDevice(realm_id=user.realm_id, user_id=user.id, cookie_digest=keyed_digest(random_token(32)),
                              created_at=now, expires_at=now + dt.timedelta(days=days), ip_address="192.0.2.7",
                              user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36")
    db.session.add(device)
    return device


def open_a_browser_session(user):
    """A browser ``user`` is logged in with, as ``start_browser_session`` stores it."""
    import uuid

    from idp.extensions import db
    from idp.models import BrowserSession, utcnow
    from idp.security import keyed_digest, random_token

    row = BrowserSession(cookie_digest=keyed_digest(random_token(32)), sid=uuid.uuid4().hex, realm_id=user.realm_id,
                         user_id=user.id, auth_time=int(utcnow().timestamp()), amr=["pwd"], acr="0",
                         expires_at=utcnow() + dt.timedelta(hours=8), ip_address="192.0.2.7",
                         user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36")
    db.session.add(row)
    return row


@pytest.fixture
def world(in_app):
    """A realm with (inactive) outbox and Twilio integrations, a user with a remembered device and a
    browser session, an invited user without a password yet, two clients, an API key and a login
    provider; in the admin realm, another
    administrator and two clients."""
    from idp.admin.accounts import create_admin
    from idp.services.api_keys import create_api_key
    from idp.extensions import db
    from idp.services.clients import create_client
    from idp.services.realms import create_realm, get_realm
    from idp.services.sms_integrations import add_integration
    from idp.services.users import create_user
    from idp.social.providers import add_provider

    from ..helpers import begin_totp_enrolment
    from idp.webhooks.subscriptions import create_webhook
    import datetime as dt

    from idp.models import utcnow
    from idp.services.client_registration import create_initial_access_token

    with in_app():
        realms = {}
        for name in ("acme", "admin"):
            realm = create_realm(name) if name != "admin" else get_realm(name)
            if name == "admin":
                user = create_admin(email="other-admin@example.com", password=PASSWORD, role="viewer")
                session_row = open_a_browser_session(user)
            else:
                user = create_user(realm, email="alice@example.com", password=PASSWORD)
                remember_a_device(user)
                session_row = open_a_browser_session(user)
                invitee = create_user(realm, email="invitee@example.com", password=None)
                add_provider(realm, kind="oidc", name="corp", issuer="https://sso.example.com",
                             client_id="idp", client_secret="secret")
                realm.totp_enabled = True
                pending, pending_secret = begin_totp_enrolment(user, "Alice's phone")
            client, _ = create_client(realm, name="App", redirect_uris=["https://app.example/cb"])
            other_client, _ = create_client(realm, name="Other app", redirect_uris=["https://other.example/cb"])
            anonymous_client, _ = create_client(realm, name="Anonymous app", redirect_uris=["https://anon.example/cb"])
            anonymous_client.self_registered = True
            anonymous_client.expires_at = utcnow() + dt.timedelta(days=30)
            initial_token, _ = create_initial_access_token(realm, expires_in=3600)
            integration = add_integration(realm, kind="outbox", name="outbox") if name != "admin" else None
            twilio = add_integration(realm, kind="twilio", name="twilio", account_sid="AC" + "0" * 32,
                                     auth_token="twilio-token", from_number="+14155550199") if name != "admin" else None
            key, _ = create_api_key(realm, "ci") if name != "admin" else (None, None)
            # a webhook for every event: its first delivery is the news of its own creation
            webhook, _ = create_webhook(realm, url="https://hooks.example.com/idp") if name != "admin" else (None, None)
            organization = invitation = None
            if name != "admin":
                from idp.services import organizations, roles

                viewer = roles.create_role(realm, "viewer", permissions=["invoices:read"])
                roles.assign_role(user, viewer)
                organization = organizations.create_organization(realm, "globex", domains=["globex.example"])
                organizations.add_member(organization, user)
                invitation, _ = organizations.invite_to_organization(organization, "bob@example.com")
            db.session.flush()
            realms[name] = {"realm_name": name, "user_id": user.id, "client_id": client.client_id,
                            "other_client_id": other_client.client_id,
                            "anonymous_client_id": anonymous_client.client_id, "token_id": initial_token.id,
                            "integration_id": integration.id if integration else 0,
                            "twilio_integration_id": twilio.id if twilio else 0, "key_id": key.id if key else 0,
                            "name": "corp", "sid": session_row.sid,
                            "invitee_id": invitee.id if name != "admin" else user.id,
                            "kind": "totp", "credential_id": pending.id if name != "admin" else "none",
                            "pending_totp_secret": pending_secret if name != "admin" else None,
                            "webhook_id": webhook.id if webhook else 0,
                            "delivery_id": webhook.deliveries[0].id if webhook else 0,
                            "organization": "globex", "domain": "globex.example", "role_name": "viewer",
                            "invitation_id": invitation.id if invitation else 0}
        db.session.commit()
        return realms
