from ..flows import HostedLogin, id_token_claims
from ..helpers import last_sms_code, outbox_messages

PHONE = "+14155550100"


def mfa_realm(factory, **settings):
    realm = factory.realm("acme")
    factory.sms_integration(realm)
    settings = {"mfa_enabled": True, "sms_enabled": True, **settings}
    return factory.realm("acme", **settings)


def admin_enrolled_user(factory, realm, phone=PHONE):
    from idp.extensions import db
    from idp.services.mfa_users import admin_set_mfa, admin_set_phone

    user = factory.user(realm)
    admin_set_phone(user, phone)
    admin_set_mfa(user, True)
    db.session.commit()
    return user


def test_existing_user_with_mfa_gets_sms_code_then_recovery_codes(client, factory, instance_path):
    realm = mfa_realm(factory)
    client_id, secret = factory.client(realm)
    admin_enrolled_user(factory, realm)
    login = HostedLogin(client, "acme", client_id, secret)
    login.authorize()
    login.log_in()
    assert "Enter the code we sent to +1 •••• ••0100" in login.page
    assert outbox_messages(instance_path)[-1]["to"] == PHONE
    login.submit({"code": last_sms_code(instance_path)})
    assert "Save your recovery codes" in login.page
    assert "I have saved these codes" in login.page
    login.submit({"saved": "y"})
    tokens = login.exchange_code()
    claims = id_token_claims(tokens)
    assert claims["amr"] == ["pwd", "mfa", "sms"]
    assert claims["acr"] == "urn:idp:acr:mfa"
