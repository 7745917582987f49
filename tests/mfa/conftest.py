"""Fixtures for the MFA step: a realm with the product's MFA switches, users enrolled the ways
an administrator or the user would enrol them, and browsers (Flask test clients) that drive a
hosted login.

Set-up and database checks run in their own short app contexts (``in_app``) and hand back plain
values. The shared ``factory`` fixture keeps one app context open for the whole test, and
Flask's test client reuses an open context: every request would then share ``g`` (the cached
browser session) and the SQLAlchemy session, and two browsers in one test would see each
other's login."""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

import pyotp
import pytest

from ..flows import HostedLogin, id_token_claims
from ..helpers import Factory, last_sms_code

REALM = "acme"
PHONE = "+14155550100"
MASKED_PHONE = "+1 •••• ••0100"


@pytest.fixture
def mfa_settings() -> dict:
    """[mfa] settings of the app under test; a module overrides this fixture for low caps."""
    return {}


@pytest.fixture
def app(make_app, mfa_settings):
    return make_app(mfa=mfa_settings)


@pytest.fixture
def in_app(app):
    """``with in_app():`` runs a block in a fresh app context, then drops it."""

    @contextlib.contextmanager
    def context():
        with app.app_context():
            yield app

    return context


@dataclass
class RealmSetup:
    name: str
    client_id: str
    client_secret: str


@dataclass
class UserSetup:
    id: str
    email: str
    phone: str | None = None
    totp_secret: str | None = None
    recovery_codes: list[str] = field(default_factory=list)

    def totp_code(self, steps_ahead: int = 1) -> str:
        """A code the app shows ``steps_ahead`` time steps from now (the server accepts one step
        either side), so a test need not wait 30 s between two uses of one device."""
        totp = pyotp.TOTP(self.totp_secret)
        return totp.at(int(totp.timecode(_now())) * totp.interval + steps_ahead * totp.interval)


def _now():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def realm_factory(in_app):
    """A realm with an outbox SMS integration and a first-party client. Keyword arguments are
    realm settings; by default the realm switch and SMS are on (TOTP off)."""

    def make(name=REALM, *, integration=True, third_party=False, **settings) -> RealmSetup:
        with in_app() as app:
            factory = Factory(app)
            realm = factory.realm(name)
            if integration:
                factory.sms_integration(realm)
            factory.realm(name, **{"mfa_enabled": True, "sms_enabled": integration, **settings})
            client_id, secret = factory.client(realm, first_party=not third_party)
            return RealmSetup(name, client_id, secret)

    return make


@pytest.fixture
def user_factory(in_app):
    """Users as the product documents enrol them: ``admin_phone`` (``idp users set --mfa on
    --phone``), ``phone`` (a phone the user verified), ``with_totp`` (an active authenticator
    app), ``with_recovery_codes`` (the ten codes shown once)."""

    def make(email="alice@example.com", realm=REALM, *, mfa=None, admin_phone=None, phone=None,
             with_totp=False, with_recovery_codes=False) -> UserSetup:
        from idp.extensions import db
        from idp.mfa import flows
        from idp.mfa.registry import get_factor
        from idp.mfa.sms import admin_set_phone, phone_on_record
        from idp.mfa.totp.factor import credential_secret
        from idp.services.mfa_users import admin_set_mfa
        from idp.services.realms import get_realm

        with in_app() as app:
            user = Factory(app).user(get_realm(realm), email=email)
            setup = UserSetup(user.id, user.email)
            if admin_phone:
                admin_set_phone(user, admin_phone)
                setup.phone = phone_on_record(user)
            if phone:
                pending = get_factor("sms").begin_enrolment(user, {"phone": phone})
                flows.activate(pending, by="user")
                setup.phone = phone
            if with_totp:
                pending = get_factor("totp").begin_enrolment(user, {})
                setup.totp_secret = credential_secret(pending)
                flows.activate(pending, by="user")
            if with_recovery_codes:
                setup.recovery_codes = flows.issue_backup_codes(user)
            else:
                for row in flows.credentials_of(user, kind="recovery"):
                    db.session.delete(row)
            if mfa is None:
                mfa = bool(admin_phone or phone or with_totp)
            admin_set_mfa(user, mfa)
            db.session.commit()
            return setup

    return make


@pytest.fixture
def browser(app):
    """A fresh browser (its own cookies) starting logins at the realm's client."""

    def make(realm: RealmSetup) -> HostedLogin:
        return HostedLogin(app.test_client(), realm.name, realm.client_id, realm.client_secret)

    return make


@pytest.fixture
def age_sms(in_app):
    """Move every code and every sent text ``seconds`` into the past (the resend cool-down and
    the caps count from these times)."""

    def age(seconds: int):
        import datetime as dt

        from idp.extensions import db
        from idp.models import OtpChallenge, SmsMessage

        with in_app():
            for row in db.session.scalars(db.select(OtpChallenge)):
                row.created_at -= dt.timedelta(seconds=seconds)
            for row in db.session.scalars(db.select(SmsMessage)):
                row.sent_at -= dt.timedelta(seconds=seconds)
            db.session.commit()

    return age


@pytest.fixture
def sms_code(instance_path):
    """The code in the last text message (to ``phone``, when given) of the outbox."""

    def read(phone: str | None = None) -> str:
        return last_sms_code(instance_path, phone)

    return read


def logged_in_claims(login: HostedLogin) -> dict:
    return id_token_claims(login.exchange_code())


def mfa_url(login: HostedLogin, suffix: str = "") -> str:
    """A page of the MFA step of the login ``login`` is in, such as ``/phone``."""
    match = re.search(r"(/realms/[^/]+/login/[0-9a-f]+)", login.page_url or "")
    assert match, f"not inside a login: {login.page_url}"
    return f"{match.group(1)}/mfa{suffix}"


def login_url(login: HostedLogin, suffix: str = "") -> str:
    match = re.search(r"(/realms/[^/]+/login/[0-9a-f]+)", login.page_url or "")
    assert match, f"not inside a login: {login.page_url}"
    return f"{match.group(1)}{suffix}"


def link(page: str, text: str) -> str:
    """The href of the link whose text is ``text``."""
    import html

    for href, inner in re.findall(r'<a[^>]*href="([^"]*)"[^>]*>(.*?)</a>', page, flags=re.S):
        words = text_of(inner)
        if words == text or words.startswith(text + " "):
            return html.unescape(href)
    raise AssertionError(f"no link {text!r} on the page")


def text_of(page: str) -> str:
    """The page's visible words on one line, for wording checks."""
    import html

    without_tags = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", page, flags=re.S)
    words = " ".join(html.unescape(without_tags).split())
    return re.sub(r" ([.,;:!?])", r"\1", words)


def page_secret(page: str) -> str:
    """The base32 key an authenticator setup page shows for manual entry."""
    match = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page)
    assert match, "no secret on the page"
    return match.group(1).replace(" ", "")


def phone_record(in_app, email: str) -> tuple[str | None, bool]:
    """The phone on record of the user ``email`` (any realm) and whether it is verified."""
    from idp.extensions import db
    from idp.mfa.sms import phone_on_record, phone_verified
    from idp.models import User

    with in_app():
        user = db.session.scalar(db.select(User).filter_by(email=email))
        return phone_on_record(user), phone_verified(user)
