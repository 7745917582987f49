"""Passkeys beyond the factor contract: signing in with one instead of a password (its amr and
acr, who is refused), the relying party's checks, a sign count that goes backwards, and the API.
Responses come from a software authenticator (``tests.soft_authenticator``) and are checked by
py_webauthn as a browser's would be."""
from __future__ import annotations

import html
import json
import re

import pytest

from ..admin.conftest import admin_factory, console  # noqa: F401  (fixtures)
from ..api.conftest import ApiClient, make_api_key
from ..flows import HostedLogin, id_token_claims
from ..helpers import Factory
from ..soft_authenticator import SoftAuthenticator

ORIGIN = "http://localhost"
OPTIONS = re.compile(r'<script type="application/json" id="passkey-sign-in-options"[^>]*>(.*?)</script>', re.S)
ACTION = re.compile(r'<form method="post" action="([^"]*/passkey)"')


@pytest.fixture
def acme(app):
    """Realm acme offering passkeys (and passkey sign-in) and authenticator apps; alice."""
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme", mfa_enabled=True)
        realm.mfa_factors = ["webauthn", "totp"]
        realm.passkey_sign_in = True
        from idp.extensions import db

        db.session.commit()
        client = factory.client(realm)
        user = factory.user(realm, email="alice@example.com")
        return {"client": client, "user_id": user.id}


def _user(user_id):
    from idp.extensions import db
    from idp.models import User

    return db.session.get(User, user_id)


def register_passkey(app, user_id, **authenticator_options) -> SoftAuthenticator:
    """Alice adds a passkey (the steps of the account page's setup)."""
    from idp.mfa import flows
    from idp.mfa.registry import get_factor

    authenticator = SoftAuthenticator(**authenticator_options)
    with app.test_request_context():
        from idp.extensions import db

        user = _user(user_id)
        pending = flows.start_enrolment(get_factor("webauthn"), user)
        options = get_factor("webauthn").enrolment_context(flows.enrolment_challenge(pending))["options_json"]
        flows.complete_enrolment(pending, {"credential": json.dumps(authenticator.create(options, ORIGIN))}, by="user")
        db.session.commit()
    return authenticator


def sign_in_with_passkey(login: HostedLogin, authenticator: SoftAuthenticator, *, origin=ORIGIN, response=None):
    options = html.unescape(OPTIONS.search(login.page).group(1)).replace("<\\/", "</")
    response = response or authenticator.get(options, origin)
    login.submit({"credential": json.dumps(response)}, url=ACTION.search(login.page).group(1))
    return response


def _events(app, event_type):
    from idp.extensions import db
    from idp.models import AuditEvent

    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).filter_by(event_type=event_type)))


@pytest.mark.parametrize(("synced", "key_method"), [(False, "hwk"), (True, "swk")])
def test_a_user_verified_passkey_signs_in_without_password_or_second_step(app, acme, synced, key_method):
    authenticator = register_passkey(app, acme["user_id"], synced=synced)
    login = HostedLogin(app.test_client(), "acme", *acme["client"])
    login.authorize()
    assert 'autocomplete="username webauthn"' in login.page
    sign_in_with_passkey(login, authenticator)

    claims = id_token_claims(login.exchange_code())
    assert claims["amr"] == ["mfa", key_method, "user"]
    assert claims["acr"] == "urn:idp:acr:mfa"
    with app.app_context():
        from idp.mfa import flows

        (passkey,) = flows.credentials_of(_user(acme["user_id"]), kind="webauthn")
        assert passkey.last_used_at is not None and passkey.data["sign_count"] == authenticator.sign_count


def test_without_user_verification_a_passkey_is_one_factor_and_the_login_asks_for_a_second(app, acme):
    with app.app_context():
        from idp.extensions import db
        from idp.models import Realm

        db.session.scalar(db.select(Realm).filter_by(name="acme")).passkey_user_verification_required = False
        db.session.commit()
    authenticator = register_passkey(app, acme["user_id"], user_verified=False)
    login = HostedLogin(app.test_client(), "acme", *acme["client"])
    login.authorize()
    sign_in_with_passkey(login, authenticator)
    assert "/mfa/webauthn" in login.page_url and "Use your passkey" in login.page


def test_a_disabled_user_cannot_sign_in_with_a_passkey(app, acme):
    authenticator = register_passkey(app, acme["user_id"])
    with app.app_context():
        from idp.extensions import db

        _user(acme["user_id"]).disabled = True
        db.session.commit()
    login = HostedLogin(app.test_client(), "acme", *acme["client"])
    login.authorize()
    sign_in_with_passkey(login, authenticator)
    assert not login.redirected_to_app
    assert "That passkey could not be used to sign in" in login.page
    assert _events(app, "login.failed")[-1].details["reason"] == "passkey_account_unavailable"


def test_a_response_made_for_another_site_is_refused_and_uses_up_its_challenge(app, acme):
    authenticator = register_passkey(app, acme["user_id"])
    login = HostedLogin(app.test_client(), "acme", *acme["client"])
    login.authorize()
    options = html.unescape(OPTIONS.search(login.page).group(1))
    phished = authenticator.get(options, "https://login.example-phish.com")
    sign_in_with_passkey(login, authenticator, response=phished)
    assert "That passkey could not be used to sign in" in login.page

    replayed = authenticator.get(options, ORIGIN)  # the same challenge, now from the right origin
    sign_in_with_passkey(login, authenticator, response=replayed)
    assert not login.redirected_to_app
    wrong_rp = authenticator.get(html.unescape(OPTIONS.search(login.page).group(1)), ORIGIN, rp_id="example.com")
    sign_in_with_passkey(login, authenticator, response=wrong_rp)
    assert not login.redirected_to_app


def test_a_sign_count_that_goes_backwards_is_refused_and_recorded(app, acme):
    authenticator = register_passkey(app, acme["user_id"], sign_count=5)
    login = HostedLogin(app.test_client(), "acme", *acme["client"])
    login.authorize()
    authenticator.sign_count = 2  # a clone of the key, which has counted less
    sign_in_with_passkey(login, authenticator)
    assert not login.redirected_to_app
    (event,) = _events(app, "mfa.passkey_sign_count_regressed")
    assert event.details["stored_sign_count"] == 5 and event.details["received_sign_count"] == 3


def test_the_api_lists_and_deletes_passkeys_but_cannot_create_one(app, acme):
    register_passkey(app, acme["user_id"], synced=True)
    with app.app_context():
        api = ApiClient(app.test_client(), make_api_key(_user(acme["user_id"]).realm))
        from idp.extensions import db

        db.session.commit()
    user_id = acme["user_id"]
    (listed,) = api.get(f"/users/{user_id}/credentials").get_json()["credentials"]
    assert listed["credential_type"] == "webauthn" and listed["synced"] is True and listed["transports"] == ["internal"]

    created = api.post(f"/users/{user_id}/credentials", json={"credential_type": "webauthn"})
    assert created.status_code == 400
    assert created.get_json()["error"] == "browser_registration_required"

    assert api.delete(f"/users/{user_id}/credentials/{listed['id']}").status_code in (200, 204)
    assert api.get(f"/users/{user_id}/credentials").get_json()["credentials"] == []


@pytest.fixture
def alice_with_an_app(app, acme):
    """Alice holds an authenticator app; acme offers a passkey after a login."""
    import time

    import pyotp

    from ..helpers import activate_totp, begin_totp_enrolment

    with app.app_context():
        from idp.extensions import db

        user = _user(acme["user_id"])
        user.realm.passkey_offer_after_login = True
        device, secret = begin_totp_enrolment(user)
        totp = pyotp.TOTP(secret)
        assert activate_totp(user, device, totp.at(time.time() - totp.interval))  # steps 0 and 1 stay usable
        db.session.commit()
    return secret


def _log_in_with_app(app, acme, secret, *, steps_ahead):
    import time

    import pyotp

    login = HostedLogin(app.test_client(), "acme", *acme["client"])
    login.authorize()
    login.log_in()
    assert "Enter the code from your authenticator app" in login.page
    totp = pyotp.TOTP(secret)
    login.submit({"code": totp.at(time.time() + steps_ahead * totp.interval)})
    return login


CREATION_OPTIONS = re.compile(r'<script type="application/json" id="webauthn-options"[^>]*>(.*?)</script>', re.S)


def test_after_a_password_and_app_login_a_passkey_is_offered_once_and_can_be_created(app, acme, alice_with_an_app):
    login = _log_in_with_app(app, acme, alice_with_an_app, steps_ahead=1)
    assert "/mfa/webauthn/offer" in login.page_url and "Create a passkey for faster sign-in" in login.page
    authenticator = SoftAuthenticator()
    options = html.unescape(CREATION_OPTIONS.search(login.page).group(1)).replace("<\\/", "</")
    login.submit({"name": "Phone", "credential": json.dumps(authenticator.create(options, ORIGIN))})
    assert id_token_claims(login.exchange_code())["amr"] == ["pwd", "mfa", "otp"]
    with app.app_context():
        from idp.mfa import flows

        user = _user(acme["user_id"])
        assert [row.name for row in flows.credentials_of(user, kind="webauthn")] == ["Phone"]
        assert user.factor_offer_seen_at is not None


def test_a_dismissed_passkey_offer_is_not_made_again(app, acme, alice_with_an_app):
    login = _log_in_with_app(app, acme, alice_with_an_app, steps_ahead=0)
    assert "Create a passkey for faster sign-in" in login.page
    login.submit({}, url=re.search(r'action="([^"]*/offer/dismiss)"', login.page).group(1))
    assert login.redirected_to_app

    login = _log_in_with_app(app, acme, alice_with_an_app, steps_ahead=1)
    assert login.redirected_to_app, login.page_url


def test_a_user_without_a_factor_sets_up_a_passkey_during_login_and_gets_recovery_codes(app, acme):
    with app.app_context():
        from idp.extensions import db

        realm = _user(acme["user_id"]).realm
        realm.mfa_factors, realm.mfa_required = ["webauthn"], True
        db.session.commit()
    login = HostedLogin(app.test_client(), "acme", *acme["client"])
    login.authorize()
    login.log_in()
    assert "/mfa/webauthn/setup" in login.page_url and "Add a passkey or security key" in login.page
    options = html.unescape(CREATION_OPTIONS.search(login.page).group(1)).replace("<\\/", "</")
    login.submit({"name": "Laptop", "credential": json.dumps(SoftAuthenticator().create(options, ORIGIN))},
                 url=re.search(r'action="([^"]*/setup[^"]*)"', login.page).group(1).replace("&amp;", "&"))
    assert "Save your recovery codes" in login.page
    login.submit({"saved": "y"})
    assert id_token_claims(login.exchange_code())["amr"] == ["pwd", "mfa", "hwk", "user"]


def test_the_console_lists_a_users_passkeys_and_removes_one(app, acme, console):  # noqa: F811
    register_passkey(app, acme["user_id"], synced=True)
    with app.app_context():
        from idp.mfa import flows

        (passkey,) = flows.credentials_of(_user(acme["user_id"]), kind="webauthn")
        passkey_id = passkey.id
    browser = console("owner")
    browser.get(f"/admin/realms/acme/users/{acme['user_id']}")
    assert re.search(r"Passkey\s+Passkey\s+Synced", browser.text()), browser.text()
    browser.post(f"/admin/realms/acme/users/{acme['user_id']}/credentials/{passkey_id}/remove")
    assert "Passkey 'Passkey' of alice@example.com was removed." in browser.text()
    with app.app_context():
        from idp.mfa import flows

        assert flows.credentials_of(_user(acme["user_id"]), kind="webauthn") == []
