"""A device approval runs the same login as any other: a user with an authenticator app enters
its code before the consent page, and the device's tokens say so (``amr``/``acr``)."""
from __future__ import annotations

from ..flows import HostedLogin
from ..helpers import Factory

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def test_a_user_with_mfa_enters_their_code_before_allowing_the_tv(app, in_app, realm_factory, user_factory):
    import base64
    import json

    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    with in_app() as current:
        from idp.services.realms import find_realm

        tv_id, _ = Factory(current).client(find_realm(realm.name), name="TV", public=True,
                                           grant_types=[DEVICE_GRANT])
    device = app.test_client()
    codes = device.post("/realms/acme/device_authorization", data={"client_id": tv_id, "scope": "openid"}).get_json()

    phone = HostedLogin(app.test_client(), "acme", None, redirect_uri="never://")
    phone.get(codes["verification_uri_complete"].replace("http://localhost", ""))
    phone.submit({"user_code": codes["user_code"]}, url="/realms/acme/device")
    phone.log_in()
    assert "Enter the code from your authenticator app" in phone.page
    phone.submit({"code": user.totp_code()})
    assert "Allow TV to access your account?" in phone.page
    phone.submit({"decision": "allow"})
    assert "Your device is connected" in phone.page

    tokens = device.post("/realms/acme/token", data={"grant_type": DEVICE_GRANT, "client_id": tv_id,
                                                     "device_code": codes["device_code"]}).get_json()
    payload = tokens["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["amr"] == ["pwd", "mfa", "otp"] and claims["acr"] == "urn:idp:acr:mfa"
    assert claims["sub"] == user.id
