"""The Device Authorization Grant (RFC 8628): a TV shows a code, its user enters it on their
phone, logs in and allows the TV, and the TV, polling meanwhile, gets its tokens once.

The TV's side is plain HTTP against the token and device authorization endpoints; the user's
side is the hosted pages, through the same login as every other (``tests.flows.HostedLogin``)."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from ..flows import HostedLogin
from ..helpers import csrf_token

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def world(factory):
    realm = factory.realm("acme")
    factory.user(realm)
    tv_id, _ = factory.client(realm, name="Living-room TV", public=True,
                              grant_types=["refresh_token", DEVICE_GRANT])
    return realm, tv_id


class Tv:
    """A device client: asks for codes, polls for tokens."""

    def __init__(self, http, client_id, scope="openid profile offline_access"):
        self.http, self.client_id, self.scope = http, client_id, scope

    def start(self):
        response = self.http.post("/realms/acme/device_authorization",
                                  data={"client_id": self.client_id, "scope": self.scope})
        assert response.status_code == 200, response.get_json()
        self.codes = response.get_json()
        return self.codes

    def poll(self, device_code=None):
        response = self.http.post("/realms/acme/token", data={
            "grant_type": DEVICE_GRANT, "device_code": device_code or self.codes["device_code"],
            "client_id": self.client_id})
        return response.status_code, response.get_json()


def _forget_last_poll(app, device_code_id=None):
    """Let the TV's next poll come after its interval without waiting for it."""
    from idp.extensions import db
    from idp.oidc.grants.device_code import DeviceAuthorization

    with app.app_context():
        db.session.execute(db.update(DeviceAuthorization).values(last_polled_at=None))
        db.session.commit()


def _user_enters_code(app, user_code, *, log_in=True):
    phone = HostedLogin(app.test_client(), "acme", None, redirect_uri="never://")
    phone.get(f"/realms/acme/device?user_code={user_code}")
    phone.submit({"user_code": user_code}, url="/realms/acme/device")
    if log_in:
        phone.log_in()
    return phone


def test_a_tv_gets_tokens_once_after_its_user_enters_the_code_logs_in_and_allows_it(app, world):
    realm, tv_id = world
    tv = Tv(app.test_client(), tv_id)
    codes = tv.start()
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", codes["user_code"])
    assert codes["verification_uri"] == "http://localhost/realms/acme/device"
    assert codes["verification_uri_complete"].endswith(f"?user_code={codes['user_code']}")
    assert codes["expires_in"] == 600 and codes["interval"] == 5

    assert tv.poll() == (400, {"error": "authorization_pending",
                               "error_description": "The user has not yet entered the code and approved the device."})
    assert tv.poll()[1]["error"] == "slow_down", "polled again at once: told to slow down"

    phone = _user_enters_code(app, codes["user_code"])
    assert "Allow Living-room TV to access your account?" in phone.page, "a device is never approved silently"
    phone.submit({"decision": "allow"})
    assert "Your device is connected" in phone.page

    _forget_last_poll(app)
    status, tokens = tv.poll()
    assert status == 200 and tokens["token_type"] == "Bearer" and tokens["refresh_token"]
    assert tv.poll()[1]["error"] == "invalid_grant", "the tokens come once"
    refreshed = app.test_client().post("/realms/acme/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": tv_id})
    assert refreshed.status_code == 200 and refreshed.get_json()["access_token"]
    userinfo = app.test_client().get("/realms/acme/userinfo",
                                     headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.get_json()["preferred_username"] == "alice@example.com"


def test_the_code_may_be_typed_in_lower_case_without_the_dash(app, world):
    _realm, tv_id = world
    tv = Tv(app.test_client(), tv_id)
    typed = tv.start()["user_code"].replace("-", " ").lower()

    phone = _user_enters_code(app, typed)

    assert "Allow Living-room TV to access your account?" in phone.page


def test_a_user_who_denies_the_tv_leaves_it_with_access_denied(app, world):
    _realm, tv_id = world
    tv = Tv(app.test_client(), tv_id)
    phone = _user_enters_code(app, tv.start()["user_code"])

    phone.submit({"decision": "deny"})

    assert "Access denied" in phone.page
    assert tv.poll()[1]["error"] == "access_denied"


def test_a_code_entered_after_it_expired_is_refused_and_the_tv_is_told_expired_token(app, world):
    from idp.extensions import db
    from idp.models import utcnow
    from idp.oidc.grants.device_code import DeviceAuthorization

    _realm, tv_id = world
    tv = Tv(app.test_client(), tv_id)
    codes = tv.start()
    with app.app_context():
        db.session.execute(db.update(DeviceAuthorization).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()

    phone = _user_enters_code(app, codes["user_code"], log_in=False)

    assert phone.response.status_code == 400 and "That code is not valid or has expired" in phone.page
    assert tv.poll()[1]["error"] == "expired_token"


def test_a_code_that_expires_while_the_user_logs_in_is_not_approved(app, world):
    from idp.extensions import db
    from idp.models import utcnow
    from idp.oidc.grants.device_code import DeviceAuthorization

    _realm, tv_id = world
    tv = Tv(app.test_client(), tv_id)
    phone = _user_enters_code(app, tv.start()["user_code"])
    with app.app_context():
        db.session.execute(db.update(DeviceAuthorization).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()

    phone.submit({"decision": "allow"})

    assert phone.response.status_code == 400 and "This code has expired" in phone.page
    assert tv.poll()[1]["error"] == "expired_token"


def test_a_network_that_guesses_user_codes_is_stopped_after_ten_wrong_ones(app, world):
    _realm, tv_id = world
    real_code = Tv(app.test_client(), tv_id).start()["user_code"]
    guesser = app.test_client()
    page = guesser.get("/realms/acme/device").get_data(as_text=True)

    answers = [guesser.post("/realms/acme/device", data={"csrf_token": csrf_token(page),
                                                         "user_code": f"BCDF-GHJ{letter}"}).status_code
               for letter in "KLMNPQRSTV"]
    stopped = guesser.post("/realms/acme/device", data={"csrf_token": csrf_token(page), "user_code": real_code})

    assert answers == [400] * 10
    assert stopped.status_code == 429 and "Too many wrong codes" in stopped.get_data(as_text=True)
    assert int(stopped.headers["Retry-After"]) > 0


def test_a_client_not_registered_for_the_device_grant_cannot_start_it(app, factory, world):
    realm, _tv_id = world
    web_id, _ = factory.client(realm, name="Web shop", public=True)

    response = app.test_client().post("/realms/acme/device_authorization", data={"client_id": web_id})

    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"


@pytest.mark.parametrize("data, status, error", [
    ({}, 401, "invalid_client"),
    ({"client_id": "nobody"}, 400, "invalid_client"),
])
def test_an_unknown_device_is_refused_codes(app, world, data, status, error):
    response = app.test_client().post("/realms/acme/device_authorization", data=data)
    assert (response.status_code, response.get_json()["error"]) == (status, error)


def test_a_made_up_device_code_is_an_invalid_grant(app, world):
    _realm, tv_id = world
    status, body = Tv(app.test_client(), tv_id).poll("not-a-device-code")
    assert (status, body["error"]) == (400, "invalid_grant")


def test_another_client_cannot_redeem_a_tvs_device_code(app, factory, world):
    realm, tv_id = world
    codes = Tv(app.test_client(), tv_id).start()
    other_id, _ = factory.client(realm, name="Other TV", public=True, grant_types=[DEVICE_GRANT])

    status, body = Tv(app.test_client(), other_id).poll(codes["device_code"])

    assert (status, body["error"]) == (400, "unauthorized_client")


def test_starting_devices_counts_against_the_networks_budget_of_new_logins(make_app, factory_for):
    app = make_app(security={"login_transaction_rate_limit": "2 per minute"})
    _realm, tv_id = factory_for(app)
    tv = Tv(app.test_client(), tv_id)
    tv.start()
    tv.start()

    response = app.test_client().post("/realms/acme/device_authorization", data={"client_id": tv_id})

    assert response.status_code == 429 and response.get_json()["error"] == "slow_down"
    assert int(response.headers["Retry-After"]) > 0


@pytest.fixture
def factory_for():
    def make(app):
        from ..helpers import Factory

        with app.app_context():
            factory = Factory(app)
            realm = factory.realm("acme")
            tv_id, _ = factory.client(realm, name="TV", public=True, grant_types=[DEVICE_GRANT])
            return realm, tv_id

    return make


def test_expired_device_authorizations_are_purged(app, world):
    from idp.extensions import db
    from idp.models import utcnow
    from idp.oidc.grants.device_code import DeviceAuthorization
    from idp.services.purge import purge_expired

    _realm, tv_id = world
    tv = Tv(app.test_client(), tv_id)
    tv.start()
    tv.start()
    with app.app_context():
        first = db.session.scalar(db.select(DeviceAuthorization).order_by(DeviceAuthorization.id))
        first.expires_at = utcnow() - dt.timedelta(hours=1)
        db.session.commit()
        deleted = purge_expired(app.extensions["idp.settings"])
        assert deleted["device_authorizations"] == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(DeviceAuthorization)) == 1


def test_discovery_names_the_device_endpoint_and_grant(client, world):
    metadata = client.get("/realms/acme/.well-known/openid-configuration").get_json()
    assert metadata["device_authorization_endpoint"] == "http://localhost/realms/acme/device_authorization"
    assert DEVICE_GRANT in metadata["grant_types_supported"]


def test_only_digests_of_the_codes_are_stored(app, world):
    from idp.extensions import db
    from idp.oidc.grants.device_code import DeviceAuthorization

    _realm, tv_id = world
    codes = Tv(app.test_client(), tv_id).start()
    with app.app_context():
        row = db.session.scalar(db.select(DeviceAuthorization))
        stored = " ".join(str(getattr(row, c.name)) for c in DeviceAuthorization.__table__.columns)
    assert codes["device_code"] not in stored and codes["user_code"].replace("-", "") not in stored


def test_a_tv_that_asked_for_openid_also_gets_an_id_token_of_the_login_on_the_phone(app, world):
    import base64
    import json

    realm, tv_id = world
    tv = Tv(app.test_client(), tv_id, scope="openid profile")
    codes = tv.start()
    phone = _user_enters_code(app, codes["user_code"])
    phone.submit({"decision": "allow"})

    status, tokens = tv.poll()

    assert status == 200, tokens
    payload = tokens["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"] == [tv_id] and claims["iss"].endswith("/realms/acme")
    assert claims["preferred_username"] == "alice@example.com" and claims["amr"] == ["pwd"]
    assert claims["auth_time"] <= claims["iat"] and claims["sid"]


def test_a_tv_without_openid_gets_no_id_token(app, world):
    realm, tv_id = world
    tv = Tv(app.test_client(), tv_id, scope="profile")
    codes = tv.start()
    phone = _user_enters_code(app, codes["user_code"])
    phone.submit({"decision": "allow"})

    status, tokens = tv.poll()

    assert status == 200 and "id_token" not in tokens
