"""Credentials (authrocket-2fa.txt "Enrollment via the AuthRocket API"): pending until the
first valid code, 409 once active; TOTP and SMS; recovery codes."""
from __future__ import annotations

import pyotp
import pytest

from ..helpers import last_sms_code
from .conftest import next_totp, totp_now

PHONE = "+14155550100"


def test_totp_credential_is_pending_with_secret_and_provisioning_uri(api, mfa_realm, user):
    response = api.post(f"/users/{user.id}/credentials", {"credential_type": "totp"})
    assert response.status_code == 201
    credential = response.get_json()
    assert credential["credential_type"] == "totp" and credential["state"] == "pending"
    assert len(credential["id"]) == 24, "a random id, never a counter"
    assert credential["name"] == "Authenticator"
    totp = pyotp.parse_uri(credential["provisioning_uri"])
    assert totp.secret == credential["otp_secret"] and totp.issuer == "Acme" and totp.name == user.email
    listed = api.get(f"/users/{user.id}/credentials").get_json()["credentials"]
    assert [c["id"] for c in listed] == [credential["id"]]


def test_verified_totp_credential_is_active_and_hides_its_secret(api, mfa_realm, user):
    credential = api.post(f"/users/{user.id}/credentials", {"credential_type": "totp", "name": "Work phone"}).get_json()
    verify = f"/users/{user.id}/credentials/{credential['id']}/verify"
    active = api.post(verify, {"code": totp_now(credential["otp_secret"])})
    assert active.status_code == 200
    body = active.get_json()
    assert body["state"] == "active" and body["name"] == "Work phone" and body["activated_at"]
    assert "otp_secret" not in body and "provisioning_uri" not in body
    assert api.get(f"/users/{user.id}").get_json()["factors"] == ["totp"]
    again = api.post(verify, {"code": next_totp(credential["otp_secret"])})
    assert again.status_code == 409
    assert again.get_json()["error"] == "credential_already_active"


def test_wrong_activation_codes_count_against_the_credential_not_the_login_lock(api, mfa_realm, user):
    """Enrolment has its own limit (``mfa.enrolment_max_attempts``, 5): the user's login lock
    is untouched, and a credential that took five wrong codes is gone (410); a new one works."""
    credential = api.post(f"/users/{user.id}/credentials", {"credential_type": "totp"}).get_json()
    verify = f"/users/{user.id}/credentials/{credential['id']}/verify"
    wrong = "000000" if totp_now(credential["otp_secret"]) != "000000" else "111111"
    response = api.post(verify, {"code": wrong})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_code" and body["attempts_left"] == 4 and "code" in body["fields"]
    assert api.get(f"/users/{user.id}/credentials/{credential['id']}").get_json()["state"] == "pending"
    for _ in range(3):
        assert api.post(verify, {"code": wrong}).status_code == 400
    assert api.post(verify, {"code": wrong}).status_code == 410
    assert api.post(verify, {"code": totp_now(credential["otp_secret"])}).status_code == 410

    from idp.extensions import db
    from idp.models import User

    assert db.session.get(User, user.id).failed_mfa_attempts == 0, "the login lock's count is not used"
    fresh = api.post(f"/users/{user.id}/credentials", {"credential_type": "totp"}).get_json()
    done = api.post(f"/users/{user.id}/credentials/{fresh['id']}/verify", {"code": totp_now(fresh["otp_secret"])})
    assert done.status_code == 200


def test_two_creates_make_two_credentials_each_with_its_own_id_and_secret(api, mfa_realm, user):
    """AuthRocket workflow: the first QR code the user scanned still names its own credential."""
    first = api.post(f"/users/{user.id}/credentials", {"credential_type": "totp"}).get_json()
    second = api.post(f"/users/{user.id}/credentials", {"credential_type": "totp"}).get_json()
    assert first["id"] != second["id"] and first["otp_secret"] != second["otp_secret"]
    response = api.post(f"/users/{user.id}/credentials/{first['id']}/verify", {"code": totp_now(first["otp_secret"])})
    assert response.status_code == 200 and response.get_json()["state"] == "active"
    assert len(response.get_json()["recovery_codes"]) == 10, "the first factor brings recovery codes, once"
    assert api.get(f"/users/{user.id}/credentials/{second['id']}").get_json()["state"] == "pending"


def test_deleting_the_last_credential_turns_mfa_off_so_the_user_logs_in_normally(api, mfa_realm, user, client):
    credential = api.post(f"/users/{user.id}/credentials", {"credential_type": "totp"}).get_json()
    api.post(f"/users/{user.id}/credentials/{credential['id']}/verify", {"code": totp_now(credential["otp_secret"])})
    assert api.get(f"/users/{user.id}").get_json()["mfa_enabled"] is True
    assert api.delete(f"/users/{user.id}/credentials/{credential['id']}").status_code == 204
    body = api.get(f"/users/{user.id}").get_json()
    assert body["mfa_enabled"] is False and body["factors"] == []
    assert api.get(f"/users/{user.id}/recovery_codes").get_json() == {"remaining": 0}


def test_sms_credential_is_verified_with_the_code_its_verify_step_sends(api, mfa_realm, user, instance_path):
    response = api.post(f"/users/{user.id}/credentials", {"credential_type": "sms", "phone": "+1 415 555 0100"})
    assert response.status_code == 201, response.get_json()
    credential = response.get_json()
    assert credential["state"] == "pending" and credential["phone"] == PHONE
    verify = f"/users/{user.id}/credentials/{credential['id']}/verify"
    sent = api.post(verify)
    assert sent.status_code == 202 and sent.get_json()["code_sent"] is True
    assert api.post(verify, {"code": "000000"}).status_code == 400
    active = api.post(verify, {"code": last_sms_code(instance_path, PHONE)})
    assert active.status_code == 200, active.get_json()
    body = active.get_json()
    assert body | {"created_at": None, "activated_at": None, "recovery_codes": None} == {
        "id": credential["id"], "credential_type": "sms", "state": "active", "name": "Phone", "created_at": None,
        "activated_at": None, "last_used_at": None, "phone": PHONE, "phone_verified": True, "recovery_codes": None}
    user_body = api.get(f"/users/{user.id}").get_json()
    assert user_body["phone_verified"] and user_body["mfa_enabled"] and user_body["factors"] == ["sms"]
    assert [c["id"] for c in api.get(f"/users/{user.id}/credentials").get_json()["credentials"]] == [credential["id"]]
    assert api.post(verify, {"code": "123456"}).status_code == 409
    assert api.post(f"/users/{user.id}/credentials", {"credential_type": "sms", "phone": PHONE}).status_code == 409


@pytest.mark.parametrize("payload, field", [
    ({}, "credential_type"),
    ({"credential_type": "webauthn"}, "credential_type"),
    ({"credential_type": "sms"}, "phone"),
    ({"credential_type": "sms", "phone": "4155550100"}, "phone"),
    ({"credential_type": "sms", "phone": 4155550100}, "phone"),
    ({"credential_type": "totp", "name": "x" * 101}, "name"),
    ({"credential_type": "totp", "name": {"a": 1}}, "name"),
])
def test_bad_credential_input_is_422_naming_the_field(api, mfa_realm, user, payload, field):
    response = api.post(f"/users/{user.id}/credentials", payload)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_credentials_of_a_disabled_provider_cannot_be_created(api, realm, user):
    response = api.post(f"/users/{user.id}/credentials", {"credential_type": "totp"})
    assert response.status_code == 422 and "credential_type" in response.get_json()["fields"]


@pytest.mark.parametrize("credential_id", ["totp_999", "sms_1", "phone", "nonsense", "totp_", "totp_99999999999999"])
def test_unknown_credential_is_404(api, mfa_realm, user, credential_id):
    assert api.get(f"/users/{user.id}/credentials/{credential_id}").status_code == 404
    assert api.post(f"/users/{user.id}/credentials/{credential_id}/verify", {"code": "1"}).status_code == 404


def test_credential_of_another_user_is_404(api, factory, mfa_realm, user):
    other = factory.user(mfa_realm, email="bob@example.com")
    credential = api.post(f"/users/{other.id}/credentials", {"credential_type": "totp"}).get_json()
    assert api.get(f"/users/{user.id}/credentials/{credential['id']}").status_code == 404


def test_deleting_credentials(api, mfa_realm, user, instance_path):
    credential = api.post(f"/users/{user.id}/credentials", {"credential_type": "totp"}).get_json()
    assert api.delete(f"/users/{user.id}/credentials/{credential['id']}").status_code == 204
    assert api.get(f"/users/{user.id}/credentials").get_json()["credentials"] == []
    api.patch(f"/users/{user.id}", {"phone": PHONE})
    phone = api.get(f"/users/{user.id}/credentials").get_json()["credentials"][0]
    assert phone["credential_type"] == "sms" and phone["phone"] == PHONE
    assert api.delete(f"/users/{user.id}/credentials/{phone['id']}").status_code == 204
    assert api.get(f"/users/{user.id}").get_json()["phone"] is None


def test_recovery_codes_are_shown_once_and_counted(api, user):
    assert api.get(f"/users/{user.id}/recovery_codes").get_json() == {"remaining": 0}
    response = api.post(f"/users/{user.id}/recovery_codes")
    assert response.status_code == 201
    codes = response.get_json()["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert api.get(f"/users/{user.id}/recovery_codes").get_json() == {"remaining": 10}
    assert api.post(f"/users/{user.id}/recovery_codes").get_json()["codes"] != codes
