"""Every factor of the default configuration, through the same stories (issue 13's contract):
a pending credential is not usable at login; completing enrolment activates it; a challenge and
the right response succeed once; a wrong response counts toward the account's lock; removal
stops it working; the account page, the management API and the console list it."""
from __future__ import annotations

import importlib
import re

import pytest

from idp.config import load_settings

from ...admin.conftest import admin_factory, console  # noqa: F401  (fixtures)
from ...api.conftest import ApiClient, make_api_key
from ...flows import HostedLogin
from ...helpers import Factory

KINDS = load_settings(None, environ={}).mfa.factors


def driver(kind):
    return importlib.import_module(f"tests.mfa.factors.{kind}")


@pytest.fixture
def setup(app):
    """Realm acme offering every factor (SMS through the outbox), and alice."""
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        factory.sms_integration(realm)
        factory.realm("acme", mfa_enabled=True)
        from idp.extensions import db
        from idp.mfa.registry import registry

        realm.mfa_factors = registry().kinds(include_backup=False)
        db.session.commit()
        client = factory.client(realm)
        user = factory.user(realm, email="alice@example.com")
        return {"client": client, "user_id": user.id}


def _user(user_id):
    from idp.extensions import db
    from idp.models import User

    return db.session.get(User, user_id)


def _enrol(kind, user, instance_path):
    """An active credential of ``kind`` for ``user``, enrolled as the surfaces enrol it."""
    from idp.extensions import db
    from idp.mfa import flows
    from idp.mfa.registry import get_factor

    factor = get_factor(kind)
    if factor.backup:
        driver(kind).issued[user.id] = flows.issue_backup_codes(user)
        db.session.commit()
        return flows.credentials_of(user, kind=kind)[0]
    pending = _start(kind, user)
    codes = flows.complete_enrolment(pending, driver(kind).enrolment_response(pending, instance_path), by="user")
    db.session.commit()
    if codes and "recovery" in KINDS:
        driver("recovery").issued[user.id] = codes
    return pending


def _start(kind, user):
    from idp.extensions import db
    from idp.mfa import flows
    from idp.mfa.registry import get_factor

    factor = get_factor(kind)
    pending = flows.start_enrolment(factor, user, getattr(driver(kind), "ENROLMENT_FIELDS", {}))
    if factor.resendable:
        factor.deliver_enrolment(flows.enrolment_challenge(pending))
    db.session.commit()
    return pending


def _challenge(user, binding="txn-1"):
    from idp.mfa.base import Challenge

    return Challenge(realm=user.realm, user=user, binding=binding)


@pytest.mark.parametrize("kind", KINDS)
def test_a_pending_credential_is_not_usable_at_login(app, setup, instance_path, kind):
    from idp.mfa import flows
    from idp.mfa.registry import get_factor

    with app.test_request_context():
        factor = get_factor(kind)
        if factor.backup:
            pytest.skip("a backup factor is issued active, never pending")
        user = _user(setup["user_id"])
        pending = _start(kind, user)
        assert pending.state == "pending"
        assert factor not in flows.usable_factors(user.realm, user)
        assert not user.mfa_enabled
        assert flows.usable_credentials(factor, user) == []


@pytest.mark.parametrize("kind", KINDS)
def test_completing_enrolment_activates_and_turns_mfa_on(app, setup, instance_path, kind):
    from idp.mfa import flows
    from idp.mfa.registry import get_factor

    with app.test_request_context():
        user = _user(setup["user_id"])
        if get_factor(kind).backup:
            _enrol("totp" if "totp" in KINDS else next(k for k in KINDS if not get_factor(k).backup), user,
                   instance_path)
        else:
            credential = _enrol(kind, user, instance_path)
            assert credential.state == "active" and credential.activated_at is not None
            assert get_factor(kind) in flows.usable_factors(user.realm, user)
        assert user.mfa_enabled
        assert flows.credentials_of(user, kind=kind), "held and active"


@pytest.mark.parametrize("kind", KINDS)
def test_a_challenge_and_the_right_response_succeed_once(app, setup, instance_path, kind):
    from idp.mfa import flows
    from idp.mfa.registry import get_factor

    with app.test_request_context():
        factor = get_factor(kind)
        user = _user(setup["user_id"])
        credential = _enrol(kind, user, instance_path) if not factor.backup else None
        if factor.backup:
            _enrol(kind, user, instance_path)
            credential = flows.credentials_of(user, kind=kind)[0]
        challenge = _challenge(user)
        response = driver(kind).right_response(factor, challenge, credential, instance_path)
        assert flows.guarded_verify(factor, challenge, response).id == credential.id
        with pytest.raises(flows.WrongResponse):
            flows.guarded_verify(factor, challenge, response)


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_response_counts_toward_the_lock(app, setup, instance_path, kind):
    from idp.mfa import flows
    from idp.mfa.registry import get_factor

    with app.test_request_context():
        factor = get_factor(kind)
        user = _user(setup["user_id"])
        credential = _enrol(kind, user, instance_path)
        challenge = _challenge(user)
        factor.begin(challenge)
        with pytest.raises(flows.WrongResponse):
            flows.guarded_verify(factor, challenge, driver(kind).wrong_response(credential))
        assert _user(setup["user_id"]).failed_mfa_attempts == 1


@pytest.mark.parametrize("kind", KINDS)
def test_removal_stops_it_working(app, setup, instance_path, kind):
    from idp.extensions import db
    from idp.mfa import flows
    from idp.mfa.registry import get_factor

    with app.test_request_context():
        factor = get_factor(kind)
        user = _user(setup["user_id"])
        credential = _enrol(kind, user, instance_path)
        challenge = _challenge(user)
        response = driver(kind).right_response(factor, challenge, credential, instance_path)
        flows.remove(credential, by="user")
        db.session.commit()
        assert factor.verify(challenge, response) is None
        assert factor not in flows.usable_factors(user.realm, user, include_backup=True)


@pytest.mark.parametrize("kind", KINDS)
def test_the_account_page_the_api_and_the_console_list_it(app, setup, instance_path, console, kind):  # noqa: F811
    from idp.extensions import db
    from idp.mfa.registry import get_factor

    with app.test_request_context():
        factor = get_factor(kind)
        user = _user(setup["user_id"])
        credential = _enrol(kind, user, instance_path)
        user.mfa_enabled = False  # the listing, not the login, is under test: a password login suffices
        credential_id, description = credential.id, factor.describe(credential)
        api_key = make_api_key(user.realm)
        db.session.commit()

    login = HostedLogin(app.test_client(), "acme", *setup["client"])
    login.authorize()
    login.log_in()
    account = login.http.get("/realms/acme/account").get_data(as_text=True)
    assert driver(kind).LISTED_AS in account
    assert description.name in account

    api = ApiClient(app.test_client(), api_key)
    if factor.backup:
        assert api.get(f"/users/{setup['user_id']}/recovery_codes").get_json()["remaining"] > 0
    else:
        listed = api.get(f"/users/{setup['user_id']}/credentials").get_json()["credentials"]
        assert [(c["id"], c["credential_type"]) for c in listed] == [(credential_id, kind)]

    browser = console("viewer")
    browser.get(f"/admin/realms/acme/users/{setup['user_id']}")
    assert re.search(rf"{re.escape(description.kind_label)}\s+{re.escape(description.name)}", browser.text())
