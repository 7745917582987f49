"""Direct-to-API login: full_login, needs_mfa with a kli_ token, send_code, complete_mfa, and
the rules they share with the hosted flow (lock, single use, expiry, binding)."""
from __future__ import annotations

import base64

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from ..helpers import PASSWORD, last_sms_code, outbox_messages
from .conftest import EMAIL, enrol_totp, make_api_key, next_totp

PHONE = "+14155550100"
AUTHENTICATE = "/api/v1/realms/acme/sessions/authenticate"
SEND_CODE = "/api/v1/realms/acme/sessions/send_code"
COMPLETE = "/api/v1/realms/acme/sessions/complete_mfa"


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def verify_with_jwks(client, token, realm="acme"):
    jwks = client.get(f"/realms/{realm}/jwks").get_json()
    return jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"]).claims


def sms_user(factory, realm, phone=PHONE):
    from idp.extensions import db
    from idp.mfa.sms import admin_set_phone
    from idp.services.mfa_users import admin_set_mfa

    user = factory.user(realm, email=EMAIL)
    admin_set_phone(user, phone)
    admin_set_mfa(user, True)
    db.session.commit()
    return user


def needs_mfa(client, client_id, email=EMAIL):
    response = client.post(AUTHENTICATE, json={"email": email, "password": PASSWORD, "client_id": client_id})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["result"] == "needs_mfa", body
    return body


# --- without MFA ----------------------------------------------------------------------------

def test_user_without_mfa_gets_a_full_login_token_the_app_verifies_with_the_realm_jwks(client, user, login_client):
    client_id, _ = login_client
    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD, "client_id": client_id})
    assert response.status_code == 200
    body = response.get_json()
    assert body["result"] == "full_login"
    assert body["user"] == {"id": user.id, "email": EMAIL, "name": "Alice Liddell", "email_verified": False}
    assert "oidc" not in body
    claims = verify_with_jwks(client, body["token"])
    assert claims["sub"] == user.id and claims["aud"] == client_id
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:idp:acr:sfa"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("how", ["client_secret_basic", "client_secret_post"])
def test_confidential_client_also_receives_its_oidc_tokens(client, user, login_client, how):
    client_id, secret = login_client
    payload = {"email": EMAIL, "password": PASSWORD, "nonce": "n-123", "scope": "openid profile email offline_access"}
    headers = {}
    if how == "client_secret_basic":
        headers = basic(client_id, secret)
    else:
        payload.update(client_id=client_id, client_secret=secret)
    response = client.post(AUTHENTICATE, json=payload, headers=headers)
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()["oidc"]
    assert {"access_token", "refresh_token", "id_token", "expires_in"} <= set(tokens)
    jwks = KeySet.import_key_set(client.get("/realms/acme/jwks").get_json())
    id_token = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"]).claims
    assert id_token["sub"] == user.id and id_token["aud"] == [client_id]
    assert id_token["nonce"] == "n-123" and id_token["amr"] == ["pwd"]
    info = client.get("/realms/acme/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200 and info.get_json()["sub"] == user.id
    refreshed = client.post("/realms/acme/token", data={"grant_type": "refresh_token",
                                                        "refresh_token": tokens["refresh_token"]},
                            auth=(client_id, secret))
    assert refreshed.status_code == 200, refreshed.get_json()


def test_confidential_client_that_does_not_ask_for_offline_access_gets_no_refresh_token(client, user, login_client):
    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD}, headers=basic(*login_client))

    tokens = response.get_json()["oidc"]
    assert "access_token" in tokens and "refresh_token" not in tokens


def test_wrong_client_secret_is_refused_before_the_password_is_checked(client, user, login_client):
    client_id, _ = login_client
    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": "wrong"},
                           headers=basic(client_id, "not-the-secret"))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_wrong_password_is_refused_and_audited(client, app, user, login_client):
    client_id, _ = login_client
    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": "nope nope", "client_id": client_id})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_credentials"
    from idp.extensions import db
    from idp.models import AuditEvent

    assert db.session.scalar(db.select(AuditEvent).filter_by(event_type="login.failed")) is not None


@pytest.mark.parametrize("payload, field", [
    ({"password": PASSWORD, "client_id": "x"}, "email"),
    ({"email": EMAIL, "client_id": "x"}, "password"),
    ({"email": EMAIL, "password": PASSWORD}, "client_id"),
    ({"email": EMAIL, "password": PASSWORD, "client_id": "nobody"}, "client_id"),
    ({"email": 5, "password": PASSWORD, "client_id": "x"}, "email"),
    ({"email": EMAIL, "password": ["a"], "client_id": "x"}, "password"),
    ({"email": EMAIL, "password": "x" * 5000, "client_id": "x"}, "password"),
    ({"email": EMAIL, "password": PASSWORD, "client_id": "x", "extra": 1}, "extra"),
])
def test_bad_login_input_names_the_field(client, user, payload, field):
    response = client.post(AUTHENTICATE, json=payload)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_non_json_body_is_refused(client, user):
    assert client.post(AUTHENTICATE, data="email=a", content_type="application/x-www-form-urlencoded").status_code == 415
    assert client.post(AUTHENTICATE, data="{not json", content_type="application/json").status_code == 400
    assert client.post(AUTHENTICATE, data="[1, 2]", content_type="application/json").status_code == 400


def test_third_party_clients_cannot_collect_passwords(client, factory, realm, user):
    client_id, _ = factory.client(realm, first_party=False)
    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD, "client_id": client_id})
    assert response.status_code == 403


# --- with MFA -------------------------------------------------------------------------------

def test_sms_user_gets_needs_mfa_then_completes_with_the_texted_code(client, factory, mfa_realm, login_client,
                                                                     instance_path):
    client_id, secret = login_client
    user = sms_user(factory, mfa_realm)
    body = needs_mfa(client, client_id)
    assert body["factors"] == ["sms"]
    assert body["phone"] == "+1 •••• ••0100"
    assert body["expires_in"] == 600
    assert outbox_messages(instance_path) == []

    sent = client.post(SEND_CODE, json={"token": body["token"], "factor": "sms"})
    assert sent.status_code == 200, sent.get_json()
    assert outbox_messages(instance_path)[-1]["to"] == PHONE
    again = client.post(SEND_CODE, json={"token": body["token"], "factor": "sms"})
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0

    done = client.post(COMPLETE, json={"token": body["token"], "code": last_sms_code(instance_path)},
                       headers=basic(client_id, secret))
    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    claims = verify_with_jwks(client, result["token"])
    assert claims["amr"] == ["pwd", "mfa", "sms"] and claims["acr"] == "urn:idp:acr:mfa"
    from idp.extensions import db

    from idp.mfa.sms import phone_verified

    db.session.refresh(user)
    assert phone_verified(user)
    id_token = jwt.decode(result["oidc"]["id_token"],
                          KeySet.import_key_set(client.get("/realms/acme/jwks").get_json()), algorithms=["RS256"])
    assert id_token.claims["amr"] == ["pwd", "mfa", "sms"]


def test_kli_token_is_single_use(client, api, mfa_realm, login_client, user):
    client_id, _ = login_client
    secret = enrol_totp(api, user.id)
    body = needs_mfa(client, client_id)
    assert client.post(COMPLETE, json={"token": body["token"], "code": next_totp(secret)}).status_code == 200
    replay = client.post(COMPLETE, json={"token": body["token"], "code": next_totp(secret)})
    assert replay.status_code == 400
    assert replay.get_json()["error"] == "invalid_login_token"


def test_recovery_code_completes_the_login(client, api, mfa_realm, login_client, user):
    client_id, _ = login_client
    enrol_totp(api, user.id)
    codes = api.post(f"/users/{user.id}/recovery_codes").get_json()["codes"]
    body = needs_mfa(client, client_id)
    assert body["factors"] == ["totp", "recovery"]
    done = client.post(COMPLETE, json={"token": body["token"], "code": codes[0]})
    assert done.status_code == 200, done.get_json()
    assert verify_with_jwks(client, done.get_json()["token"])["amr"] == ["pwd", "mfa"]
    assert api.get(f"/users/{user.id}/recovery_codes").get_json() == {"remaining": 9}


def test_wrong_code_tells_attempts_left_then_locks_like_the_hosted_flow(client, api, make_app, mfa_realm,
                                                                        login_client, user):
    client_id, _ = login_client
    secret = enrol_totp(api, user.id)
    body = needs_mfa(client, client_id)
    left = []
    for _ in range(10):
        response = client.post(COMPLETE, json={"token": body["token"], "code": "000000", "factor": "totp"})
        if response.status_code == 429:
            break
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_code"
        left.append(response.get_json()["attempts_left"])
    assert left == list(range(9, 0, -1))
    assert response.status_code == 429 and response.get_json()["error"] == "mfa_locked"
    # Locked: even the right code is refused, and a new password login does not unlock it.
    again = needs_mfa(client, client_id)
    locked = client.post(COMPLETE, json={"token": again["token"], "code": next_totp(secret)})
    assert locked.status_code == 429 and "Retry-After" in locked.headers


def test_expired_kli_token_is_refused(client, api, mfa_realm, login_client, user):
    from idp.extensions import db
    from idp.models import LoginTransaction, utcnow

    client_id, _ = login_client
    secret = enrol_totp(api, user.id)
    body = needs_mfa(client, client_id)
    txn = db.session.get(LoginTransaction, body["token"][4:].split(".")[0])
    txn.expires_at = utcnow()
    db.session.commit()
    response = client.post(COMPLETE, json={"token": body["token"], "code": next_totp(secret)})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_login_token"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: t.replace("kli_", "xyz_"),
    lambda t: "kli_" + "0" * 32 + "." + t.split(".")[1],
    lambda t: t.split(".")[0],
])
def test_tampered_kli_token_is_refused(client, api, mfa_realm, login_client, user, mangle):
    client_id, _ = login_client
    secret = enrol_totp(api, user.id)
    body = needs_mfa(client, client_id)
    response = client.post(COMPLETE, json={"token": mangle(body["token"]), "code": next_totp(secret)})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_login_token"


def test_kli_token_works_in_its_realm_only_and_is_not_an_api_key(client, api, factory, mfa_realm, login_client,
                                                                  user):
    client_id, _ = login_client
    secret = enrol_totp(api, user.id)
    factory.realm("other")
    body = needs_mfa(client, client_id)
    other = client.post("/api/v1/realms/other/sessions/complete_mfa", json={"token": body["token"],
                                                                             "code": next_totp(secret)})
    assert other.status_code == 400
    as_key = client.get("/api/v1/realms/acme/users", headers={"Authorization": f"Bearer {body['token']}"})
    assert as_key.status_code == 401
    # The hosted MFA pages cannot resume an API login.
    txn_id = body["token"][4:].split(".")[0]
    client.set_cookie("idp_login", body["token"].split(".")[1], path=f"/realms/acme/login/{txn_id}")
    assert client.get(f"/realms/acme/login/{txn_id}/mfa").status_code == 400


def test_complete_mfa_with_another_clients_secret_is_refused(client, api, factory, mfa_realm, login_client, user):
    client_id, _ = login_client
    other_id, other_secret = factory.client(mfa_realm)
    secret = enrol_totp(api, user.id)
    body = needs_mfa(client, client_id)
    response = client.post(COMPLETE, json={"token": body["token"], "code": next_totp(secret)},
                           headers=basic(other_id, other_secret))
    assert response.status_code == 400


def test_user_who_must_enrol_is_told_to_enrol(client, factory, mfa_realm, login_client):
    client_id, _ = login_client
    factory.realm("acme", mfa_required=True)
    factory.user(mfa_realm, email=EMAIL)
    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD, "client_id": client_id})
    assert response.status_code == 403
    assert response.get_json()["error"] == "mfa_enrollment_required"


def test_acr_values_asking_for_mfa_step_up_a_user_with_a_factor(client, api, mfa_realm, login_client, user):
    client_id, _ = login_client
    secret = enrol_totp(api, user.id)
    from idp.extensions import db

    user.mfa_enabled = False
    db.session.commit()
    plain = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD, "client_id": client_id})
    assert plain.get_json()["result"] == "full_login"
    stepped = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD, "client_id": client_id,
                                              "acr_values": "urn:idp:acr:mfa"})
    assert stepped.get_json()["result"] == "needs_mfa"
    assert client.post(COMPLETE, json={"token": stepped.get_json()["token"],
                                       "code": next_totp(secret)}).status_code == 200


def test_realm_switch_off_means_no_mfa(client, api, factory, mfa_realm, login_client, user):
    client_id, _ = login_client
    enrol_totp(api, user.id)
    factory.realm("acme", mfa_enabled=False)
    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD, "client_id": client_id})
    assert response.get_json()["result"] == "full_login"


def test_send_code_refuses_a_factor_the_login_cannot_use(client, api, mfa_realm, login_client, user):
    client_id, _ = login_client
    enrol_totp(api, user.id)
    body = needs_mfa(client, client_id)
    response = client.post(SEND_CODE, json={"token": body["token"], "factor": "sms"})
    assert response.status_code == 422 and "factor" in response.get_json()["fields"]


def test_browsers_on_registered_origins_may_call_the_session_routes(client, user, login_client):
    client_id, _ = login_client
    preflight = client.options(AUTHENTICATE, headers={"Origin": "http://127.0.0.1:9999",
                                                      "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:9999"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    refused = client.post(AUTHENTICATE, json={"email": EMAIL, "password": "wrong", "client_id": client_id},
                          headers={"Origin": "http://127.0.0.1:9999"})
    assert refused.status_code == 400
    assert refused.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:9999"
    stranger = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD, "client_id": client_id},
                           headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_api_key_of_another_realm_on_a_session_route_is_refused(client, factory, user, login_client):
    other_key = make_api_key(factory.realm("other"))
    client_id, _ = login_client
    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD, "client_id": client_id},
                           headers={"Authorization": f"Bearer {other_key}"})
    assert response.status_code == 403


def test_direct_login_cannot_skip_email_verification_the_realm_requires(client, api, mfa_realm, login_client, user):
    """A realm that requires a verified email gets no token from the API for an unverified user,
    with or without MFA."""
    from idp.extensions import db
    from idp.services.realms import update_realm

    client_id, _ = login_client
    update_realm(mfa_realm, require_email_verification=True, mfa_enabled=False)
    user.email_verified = False
    db.session.commit()
    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": PASSWORD, "client_id": client_id})
    assert response.status_code == 403
    assert response.get_json()["error"] == "email_verification_required"


def test_a_client_that_requires_dpop_cannot_collect_bearer_tokens_through_the_api(client, app, user, login_client):
    """The direct login cannot carry a DPoP proof, so a client that must use DPoP is refused,
    before the password is checked."""
    from idp.extensions import db
    from idp.services.clients import get_client, set_client_requires_dpop
    from idp.services.realms import find_realm

    client_id, secret = login_client
    with app.app_context():
        set_client_requires_dpop(get_client(find_realm("acme"), client_id), True)
        db.session.commit()

    response = client.post(AUTHENTICATE, json={"email": EMAIL, "password": "wrong"}, headers=basic(client_id, secret))

    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"
    assert "DPoP" in response.get_json()["error_description"]
