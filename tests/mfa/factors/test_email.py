"""Codes by email: a user sets it up from the account page, then logs in with a mailed code;
the same one-time-code rules as text messages apply; a changed address must be proven again."""
from __future__ import annotations

import re

import pytest

from ...flows import HostedLogin, id_token_claims
from ...helpers import Factory
from ...lifecycle.conftest import Mailbox

EMAIL = "alice@example.com"


@pytest.fixture
def realm(app):
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme", mfa_enabled=True, mfa_factors=["email"])
        return factory.client(realm)


@pytest.fixture
def mailbox(app, instance_path):
    return Mailbox(app, instance_path / "mail-outbox.jsonl")


def _code(mailbox):
    return re.search(r"\b(\d{6})\b", mailbox.last(EMAIL, about="verification code")["subject"]).group(1)


def _login(app, realm):
    login = HostedLogin(app.test_client(), "acme", *realm)
    login.authorize()
    login.log_in(EMAIL)
    return login


def test_user_sets_up_codes_by_email_at_login_then_logs_in_with_a_mailed_code(app, realm, mailbox):
    with app.app_context():
        from idp.extensions import db
        from idp.services.realms import get_realm

        user = Factory(app).user(get_realm("acme"), email=EMAIL)
        user.mfa_enabled = True
        db.session.commit()

    first = _login(app, realm)
    assert "Enter the code we mailed to a•••e@example.com" in " ".join(first.page.split())
    first.submit({"code": _code(mailbox)})
    assert "Save your recovery codes" in first.page, "the first factor brings recovery codes"
    first.submit({"saved": "y"})
    assert id_token_claims(first.exchange_code())["amr"] == ["pwd", "mfa", "otp"]

    second = _login(app, realm)
    assert "Enter the code we mailed to" in second.page
    second.submit({"code": "000000" if _code(mailbox) != "000000" else "111111"})
    assert second.response.status_code == 400
    second.submit({"code": _code(mailbox)})
    assert id_token_claims(second.exchange_code())["amr"] == ["pwd", "mfa", "otp"]


def test_resending_waits_for_the_cool_down(app, realm, mailbox):
    with app.app_context():
        from idp.extensions import db
        from idp.mfa import flows
        from idp.mfa.registry import get_factor
        from idp.services.realms import get_realm

        user = Factory(app).user(get_realm("acme"), email=EMAIL)
        flows.activate(get_factor("email").begin_enrolment(user, {}), by="user")
        db.session.commit()
    login = _login(app, realm)
    resend = re.search(r'action="([^"]*/mfa/email/resend)"', login.page).group(1)
    login.submit({}, url=resend, token_field="resend-csrf_token")
    assert login.response.status_code == 429
    assert re.search(r"Wait (29|30) seconds before requesting another code\.", " ".join(login.page.split()))


def test_a_changed_address_must_be_proven_again(app, realm):
    with app.app_context():
        from idp.extensions import db
        from idp.mfa import flows
        from idp.mfa.registry import get_factor
        from idp.services.realms import get_realm

        user = Factory(app).user(get_realm("acme"), email=EMAIL)
        flows.activate(get_factor("email").begin_enrolment(user, {}), by="user")
        assert flows.usable_factors(user.realm, user) == [get_factor("email")]
        user.email = "new@example.com"
        assert flows.usable_factors(user.realm, user) == []
        db.session.rollback()
