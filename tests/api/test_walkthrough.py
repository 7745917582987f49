"""The seed's enrolment and login, exactly (authrocket-2fa.txt): create a TOTP credential ->
render its provisioning_uri as a QR code -> verify with a code from the scanned secret ->
authenticate -> needs_mfa + kli_ token -> complete_mfa -> a full login token that verifies
against the realm's JWKS."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import qrcode
from joserfc import jwt
from joserfc.jwk import KeySet

from ..helpers import PASSWORD
from .conftest import EMAIL


def scan(uri: str) -> str:
    """Render the URI as a QR image and read it back as a phone would (pyzbar when available)."""
    image = qrcode.make(uri).get_image().convert("L")
    try:
        from pyzbar.pyzbar import decode
    except ImportError:  # pragma: no cover - libzbar missing
        pytest.skip("pyzbar/libzbar is not installed")
    decoded = decode(image)
    assert decoded, "the QR code could not be decoded"
    return decoded[0].data.decode()


def test_user_enrols_an_authenticator_app_through_the_api_then_logs_in_with_it(api, client, factory, realm,
                                                                               login_client):
    realm = factory.realm("acme", mfa_enabled=True, totp_enabled=True)
    client_id, _secret = login_client
    user = api.post("/users", {"email": EMAIL, "password": PASSWORD, "name": "Alice"}).get_json()

    credential = api.post(f"/users/{user['id']}/credentials", {"credential_type": "totp", "name": "Alice's iPhone"})
    assert credential.status_code == 201
    credential = credential.get_json()
    assert credential["state"] == "pending"
    assert credential["provisioning_uri"].startswith("otpauth://totp/")

    scanned = scan(credential["provisioning_uri"])
    assert scanned == credential["provisioning_uri"]
    parts = urlsplit(scanned)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["issuer"] == realm.display_name
    assert EMAIL in parts.path.replace("%40", "@")
    assert query["secret"] == credential["otp_secret"]
    app_on_phone = pyotp.parse_uri(scanned)

    # Not activated yet: the pending credential is not asked for at login.
    before = client.post("/api/v1/realms/acme/sessions/authenticate",
                         json={"email": EMAIL, "password": PASSWORD, "client_id": client_id})
    assert before.get_json()["result"] == "full_login"

    verified = api.post(f"/users/{user['id']}/credentials/{credential['id']}/verify", {"code": app_on_phone.now()})
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["state"] == "active"
    assert len(verified.get_json()["recovery_codes"]) == 10, "the first factor brings recovery codes, shown once"

    login = client.post("/api/v1/realms/acme/sessions/authenticate",
                        json={"email": EMAIL, "password": PASSWORD, "client_id": client_id})
    assert login.status_code == 200
    body = login.get_json()
    assert body["result"] == "needs_mfa"
    assert body["token"].startswith("kli_")
    assert body["factors"] == ["totp", "recovery"]

    code = app_on_phone.at(time.time() + 30)  # the next step: the activation used this one
    done = client.post("/api/v1/realms/acme/sessions/complete_mfa", json={"token": body["token"], "code": code})
    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    assert result["result"] == "full_login"
    assert result["user"]["email"] == EMAIL

    jwks = client.get("/realms/acme/jwks").get_json()
    decoded = jwt.decode(result["token"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    claims = decoded.claims
    assert decoded.header["typ"] == "JWT"
    assert claims["iss"] == "http://localhost/realms/acme"
    assert claims["aud"] == client_id
    assert claims["sub"] == user["id"]
    assert claims["amr"] == ["pwd", "mfa", "otp"]
    assert claims["acr"] == "urn:idp:acr:mfa"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]
