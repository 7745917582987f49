"""Who is asked for a second factor: the realm switch, the per-form flags, "MFA required", the
user's own flag, step-up by ``acr_values``, and the rule that SMS needs an active integration."""
import pytest

from .conftest import PHONE, RealmSetup, logged_in_claims, text_of

REGISTRANT = {"email": "new@example.com", "password": "a long enough password", "name": "New Person"}


def _register(login, mailbox, details=REGISTRANT):
    """Register, and open the mailed link in the same browser: the login goes on."""
    login.authorize()
    return login.register_and_confirm(mailbox, details["email"], details["password"], details["name"])


def test_realm_switch_off_lets_a_user_with_mfa_log_in_with_the_password_alone(realm_factory, user_factory, browser):
    realm = realm_factory(mfa_enabled=False)
    user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert login.redirected_to_app
    claims = logged_in_claims(login)
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == "urn:idp:acr:sfa"


def test_login_form_flag_off_lets_a_user_with_mfa_log_in_without_a_prompt(realm_factory, user_factory, browser):
    realm = realm_factory(mfa_login_form=False)
    user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert logged_in_claims(login)["amr"] == ["pwd"]


def test_user_without_mfa_logs_in_as_before_when_the_realm_has_mfa_on(realm_factory, user_factory, browser):
    realm = realm_factory(totp_enabled=True)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert logged_in_claims(login)["amr"] == ["pwd"]


def test_switching_the_realm_on_is_enough_to_challenge_users_who_have_mfa(realm_factory, user_factory, browser):
    realm = realm_factory()
    user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert not login.redirected_to_app
    assert "Enter the code we sent to" in login.page


def test_registration_without_the_form_flag_issues_a_code_straight_away(realm_factory, browser, mailbox):
    realm = realm_factory()
    login = browser(realm)
    _register(login, mailbox)
    assert logged_in_claims(login)["amr"] == ["pwd"]


def test_registration_form_flag_makes_a_new_registrant_enrol_before_the_app_gets_a_code(realm_factory, browser,
                                                                                       sms_code, mailbox):
    realm = realm_factory(mfa_registration_form=True)
    login = browser(realm)
    _register(login, mailbox)
    assert not login.redirected_to_app
    assert "Enter your phone number" in login.page
    login.submit({"phone": "+1 415 555 0123"})
    assert not login.redirected_to_app
    login.submit({"code": sms_code("+14155550123")})
    assert not login.redirected_to_app
    assert "Save your recovery codes" in login.page
    login.submit({"saved": "y"})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]


def test_mfa_required_makes_a_user_without_factors_enrol_at_next_login(realm_factory, user_factory, browser, sms_code,
                                                                      in_app):
    realm = realm_factory(mfa_required=True)
    user = user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Enter your phone number" in login.page
    login.submit({"phone": "+14155550123"})
    login.submit({"code": sms_code()})
    login.submit({"saved": "y"})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]
    with in_app():
        from idp.extensions import db
        from idp.models import User

        from idp.mfa.sms import phone_on_record, phone_verified

        enrolled = db.session.get(User, user.id)
        assert (phone_on_record(enrolled), phone_verified(enrolled), enrolled.mfa_enabled) == ("+14155550123", True, True)


def test_mfa_required_still_needs_the_realm_switch(realm_factory, user_factory, browser):
    realm = realm_factory(mfa_required=True, mfa_enabled=False)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert logged_in_claims(login)["amr"] == ["pwd"]


def test_app_asking_for_mfa_with_acr_values_makes_a_user_without_mfa_enrol(realm_factory, user_factory, browser,
                                                                           sms_code):
    realm = realm_factory()
    user_factory()
    login = browser(realm)
    login.authorize(acr_values="urn:idp:acr:mfa")
    login.log_in()
    assert "Enter your phone number" in login.page
    login.submit({"phone": "+14155550123"})
    login.submit({"code": sms_code()})
    login.submit({"saved": "y"})
    claims = logged_in_claims(login)
    assert claims["amr"] == ["pwd", "mfa", "sms"]
    assert claims["acr"] == "urn:idp:acr:mfa"


# --- SMS needs an active integration (roq-mfa.txt) ---------------------------------------------

def test_enabling_sms_without_an_active_integration_is_refused_with_a_clear_message(in_app):
    from idp.services import ServiceError
    from idp.services.realms import create_realm, update_realm
    from idp.services.sms_integrations import add_integration

    with in_app():
        realm = create_realm("acme")
        add_integration(realm, kind="outbox", name="dev", active=False)
        with pytest.raises(ServiceError, match="needs at least one active SMS integration"):
            update_realm(realm, mfa_enabled=True, sms_enabled=True)


@pytest.mark.parametrize("action", ["deactivate", "remove"])
def test_last_active_integration_cannot_go_while_sms_mfa_is_on(in_app, action):
    from idp.extensions import db
    from idp.services import ServiceError
    from idp.services import sms_integrations as service
    from idp.services.realms import create_realm, update_realm

    with in_app():
        realm = create_realm("acme")
        dev = service.add_integration(realm, kind="outbox", name="dev", active=True)
        update_realm(realm, mfa_enabled=True, sms_enabled=True)
        db.session.commit()
        with pytest.raises(ServiceError, match="last active SMS integration"):
            getattr(service, f"{action}_integration")(dev)
        spare = service.add_integration(realm, kind="outbox", name="spare", active=True)
        getattr(service, f"{action}_integration")(dev)
        db.session.commit()
        assert [i.name for i in service.active_sms_integrations(realm)] == [spare.name]


def test_operator_sets_up_sms_mfa_from_the_command_line_in_the_documented_order(runner):
    assert runner("realms", "create", "acme").exit_code == 0

    refused = runner("realms", "set", "acme", "--mfa", "on", "--sms", "on")
    assert refused.exit_code != 0
    assert "needs at least one active SMS integration" in refused.output

    assert runner("sms-integrations", "add", "--realm", "acme", "--kind", "outbox", "--name", "dev",
                  "--active").exit_code == 0
    assert runner("realms", "set", "acme", "--mfa", "on", "--sms", "on").exit_code == 0

    for action in ("deactivate", "remove"):
        result = runner("sms-integrations", action, "--realm", "acme", "dev")
        assert result.exit_code != 0, action
        assert "last active SMS integration" in result.output
    listed = runner("sms-integrations", "list", "--realm", "acme", "--json")
    assert '"active": true' in listed.output

    assert runner("realms", "set", "acme", "--sms", "off").exit_code == 0
    assert runner("sms-integrations", "deactivate", "--realm", "acme", "dev").exit_code == 0
    assert runner("sms-integrations", "remove", "--realm", "acme", "dev").exit_code == 0


def test_admin_enrols_an_existing_user_from_the_command_line(runner, app, browser, sms_code):
    runner("realms", "create", "acme")
    runner("sms-integrations", "add", "--realm", "acme", "--kind", "outbox", "--name", "dev", "--active")
    runner("realms", "set", "acme", "--mfa", "on", "--sms", "on")
    runner("users", "create", "--realm", "acme", "--email", "alice@example.com", "--password",
           "correct horse battery")
    result = runner("users", "set", "alice@example.com", "--realm", "acme", "--mfa", "on", "--phone", "+14155550100")
    assert result.exit_code == 0, result.output
    created = runner("clients", "create", "--realm", "acme", "--name", "App", "--redirect-uri",
                     "http://127.0.0.1:9999/callback", "--json")
    import json

    client = json.loads(created.output)
    login = browser(RealmSetup("acme", client["client_id"], client["client_secret"]))
    login.authorize()
    login.log_in()
    assert "Enter the code we sent to +1 •••• ••0100" in text_of(login.page)
    login.submit({"code": sms_code(PHONE)})
    login.submit({"saved": "y"})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]


def test_registrant_who_leaves_before_enrolling_must_enrol_at_the_next_login(realm_factory, browser, mailbox):
    realm = realm_factory(mfa_registration_form=True)
    registration = browser(realm)
    _register(registration, mailbox)
    assert "Enter your phone number" in registration.page

    login = browser(realm)
    login.authorize()
    login.log_in(REGISTRANT["email"], REGISTRANT["password"])
    assert not login.redirected_to_app
    assert "Enter your phone number" in login.page


def test_app_asking_for_mfa_steps_up_an_existing_password_only_session(realm_factory, user_factory, browser,
                                                                      sms_code):
    realm = realm_factory(mfa_login_form=False)
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    first = logged_in_claims(login)
    assert first["amr"] == ["pwd"]

    login.authorize()
    assert login.redirected_to_app, "single sign-on: no prompt"
    login.authorize(acr_values="urn:idp:acr:mfa")
    assert "Enter the code we sent to" in login.page, "no password again, only the second factor"
    login.submit({"code": sms_code()})
    stepped_up = logged_in_claims(login)
    assert stepped_up["amr"] == ["pwd", "mfa", "sms"]
    assert stepped_up["acr"] == "urn:idp:acr:mfa"
    assert stepped_up["sub"] == first["sub"]

    login.authorize()
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"], "the session now records the second factor"
