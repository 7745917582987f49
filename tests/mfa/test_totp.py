"""Authenticator apps (authrocket-2fa.txt): scan the QR code or type the key, activate with the
first code, then log in with the app's codes."""
import re
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest

from .conftest import link, logged_in_claims, page_secret


def decode_qr_svg(svg: str) -> str:
    """What a phone camera reads from the SVG that ``qrcode`` drew: rasterise the path's
    squares with Pillow, decode with zbar."""
    zbar = pytest.importorskip("pyzbar.pyzbar", reason="pyzbar needs the zbar library (Debian: libzbar0)",
                               exc_type=ImportError)
    from PIL import Image, ImageDraw

    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    scale = 10
    size = round(width * scale)
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    squares = re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+z", svg)
    assert squares, "no QR modules in the SVG"
    for x0, y0, x1, y1 in squares:
        draw.rectangle([round(float(x0) * scale), round(float(y0) * scale),
                        round(float(x1) * scale) - 1, round(float(y1) * scale) - 1], fill=0)
    image = image.resize((size * 2, size * 2), Image.NEAREST)
    found = zbar.decode(image)
    assert len(found) == 1, "the QR code does not decode"
    return found[0].data.decode()


def test_qr_code_carries_the_provisioning_uri():
    from idp.mfa.qr import build_totp_svg

    uri = "otpauth://totp/Acme:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme"
    assert decode_qr_svg(str(build_totp_svg(uri))) == uri


def test_user_enrols_by_scanning_the_qr_code_during_login(realm_factory, user_factory, browser):
    realm = realm_factory(integration=False, mfa_required=True, totp_enabled=True, display_name="Acme Corp")
    user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Set up authenticator app" in login.page
    uri = decode_qr_svg(re.search(r"<svg.*?</svg>", login.page, re.S).group(0))

    parts = urlsplit(uri)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/Acme Corp:alice@example.com"
    assert query["issuer"] == "Acme Corp"
    assert query["secret"] == page_secret(login.page), "the typed key and the QR code are the same secret"

    login.submit({"code": pyotp.parse_uri(uri).now()})
    login.submit({"saved": "y"})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "otp"]


def test_wrong_first_code_leaves_the_device_pending(realm_factory, user_factory, browser, in_app):
    realm = realm_factory(integration=False, mfa_required=True, totp_enabled=True)
    user = user_factory()
    login = browser(realm)
    login.authorize()
    login.log_in()
    secret = page_secret(login.page)
    totp = pyotp.TOTP(secret)
    wrong = next(c for c in ("123456", "654321") if not totp.verify(c, valid_window=1))
    login.submit({"code": wrong})
    assert login.response.status_code == 400
    assert "That code is not right" in login.page
    assert page_secret(login.page) == secret, "the same pending secret until it is activated"
    with in_app():
        from idp.extensions import db
        from idp.models import Authenticator, User

        assert [d.state for d in db.session.scalars(db.select(Authenticator))] == ["pending"]
        assert not db.session.get(User, user.id).mfa_enabled
    assert not login.redirected_to_app


def test_user_with_an_authenticator_app_logs_in_with_its_code(realm_factory, user_factory, browser):
    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Enter the code from your authenticator app" in login.page
    assert ">Code</label>" in login.page
    assert "Use a recovery code" in login.page
    login.submit({"code": user.totp_code()})
    claims = logged_in_claims(login)
    assert claims["amr"] == ["pwd", "mfa", "otp"]
    assert claims["acr"] == "urn:idp:acr:mfa"


@pytest.mark.parametrize("steps, accepted", [(-1, True), (0, True), (1, True), (-2, False), (2, False)])
def test_app_clock_may_be_one_time_step_off(realm_factory, user_factory, in_app, steps, accepted):
    from idp.extensions import db
    from idp.mfa import flows
    from idp.mfa.base import Challenge
    from idp.mfa.registry import get_factor
    from idp.mfa.totp.factor import credential_secret
    from idp.models import User

    realm_factory(integration=False, totp_enabled=True)
    user = user_factory()
    left_in_step = 30 - time.time() % 30
    if left_in_step < 2:
        time.sleep(left_in_step)
    with in_app():
        row = db.session.get(User, user.id)
        totp = get_factor("totp")
        device = totp.begin_enrolment(row, {})
        user.totp_secret = credential_secret(device)
        flows.activate(device, by="user")
        db.session.commit()
        challenge = Challenge(realm=row.realm, user=row, binding="test")
        assert (totp.verify(challenge, {"code": user.totp_code(steps)}) is not None) is accepted


def test_user_picks_the_app_over_sms_on_the_choice_page(realm_factory, user_factory, browser):
    realm = realm_factory(totp_enabled=True)
    user = user_factory(admin_phone="+14155550100", with_totp=True, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.get(link(login.page, "Use another method"))
    assert "Use a recovery code" in login.page
    login.get(link(login.page, "Use an authenticator app"))
    login.submit({"code": user.totp_code()})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "otp"]


def test_password_step_sends_the_browser_straight_to_the_apps_code_page(realm_factory, user_factory, app):
    from tests.flows import HostedLogin
    from tests.helpers import PASSWORD, csrf_token

    realm = realm_factory(integration=False, totp_enabled=True)
    user_factory(with_totp=True)
    login = HostedLogin(app.test_client(), "acme", realm.client_id, realm.client_secret)
    login.authorize()
    response = login.http.post(login.page_url, data={"csrf_token": csrf_token(login.page),
                                                     "email": "alice@example.com", "password": PASSWORD})
    assert response.status_code in (302, 303)
    assert urlsplit(response.location).path.endswith("/mfa/totp"), "no hop through /mfa"


def test_code_claimed_by_another_worker_after_the_page_loaded_it_is_a_replay(realm_factory, user_factory, in_app):
    """The claim of a time step tries the credential as this request loaded it; a step recorded
    meanwhile (another worker, same code) makes the compare-and-set fail, and the fresh row
    then refuses the code."""
    import json

    import sqlalchemy as sa

    from idp.extensions import db
    from idp.mfa import flows
    from idp.mfa.totp.factor import claim_step
    from idp.models import Authenticator, User

    realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True)
    with in_app():
        [row] = flows.credentials_of(db.session.get(User, user.id), kind="totp")
        step = int(time.time()) // 30
        db.session.execute(sa.text("UPDATE authenticators SET data = :data, revision = revision + 1 WHERE id = :id"),
                           {"data": json.dumps({**row.data, "last_used_step": step}), "id": row.id})
        assert row.data.get("last_used_step", 0) < step, "the request still holds the older row"
        assert claim_step(row, step) is False
        assert claim_step(row, step + 1) is True
        db.session.commit()
        assert db.session.get(Authenticator, row.id).data["last_used_step"] == step + 1


def test_a_users_credentials_are_read_again_after_one_is_added(realm_factory, user_factory, in_app):
    from idp.extensions import db
    from idp.mfa import flows
    from idp.mfa.registry import get_factor
    from idp.models import User

    realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True)
    with in_app():
        row = db.session.get(User, user.id)
        assert [c.kind for c in flows.credentials_of(row)] == ["totp"]
        pending = get_factor("totp").begin_enrolment(row, {"name": "Second phone"})
        assert [c.name for c in flows.credentials_of(row, state="pending")] == ["Second phone"]
        flows.activate(pending, by="user")
        assert sorted(c.kind for c in flows.credentials_of(row)) == ["recovery", "totp", "totp"]
        db.session.rollback()
        assert [c.kind for c in flows.credentials_of(row)] == ["totp"]


def test_credentials_written_and_not_yet_committed_are_read_from_the_requests_own_transaction(
        realm_factory, user_factory, in_app, monkeypatch):
    """A user's credentials are read outside the request's transaction (``DirectStatement``) only
    while that transaction has written none: a credential flushed and not committed, or changed
    by a bulk statement, is found by the session's own query; after the commit the outside read
    is used again and finds the same rows."""
    from idp.database import DirectStatement
    from idp.extensions import db
    from idp.mfa import flows
    from idp.mfa.registry import get_factor
    from idp.models import Authenticator, User

    outside_reads = []
    run_on = DirectStatement.run_on

    def counted(statement, connection, parameters):
        outside_reads.append(parameters)
        return run_on(statement, connection, parameters)

    monkeypatch.setattr(DirectStatement, "run_on", counted)
    realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True)
    with in_app():
        row = db.session.get(User, user.id)
        assert [c.kind for c in flows.credentials_of(row)] == ["totp"] and len(outside_reads) == 1
        get_factor("totp").begin_enrolment(row, {"name": "Second phone"})
        db.session.flush()
        flows.forget_held_credentials(db.session())
        assert [c.name for c in flows.credentials_of(row, state="pending")] == ["Second phone"]
        assert len(outside_reads) == 1
        db.session.commit()
        flows.forget_held_credentials(db.session())
        assert [c.name for c in flows.credentials_of(row, state="pending")] == ["Second phone"]
        assert len(outside_reads) == 2
        db.session.execute(db.update(Authenticator).where(Authenticator.user_id == user.id, Authenticator.state == "pending")
                           .values(name="Renamed").execution_options(credentials_unchanged=True))
        flows.forget_held_credentials(db.session())
        assert [c.name for c in flows.credentials_of(row, state="pending")] == ["Renamed"]
        assert len(outside_reads) == 2
        db.session.rollback()


def test_a_code_accepted_for_a_user_disabled_meanwhile_stays_spent(realm_factory, user_factory, browser, in_app):
    """The code is right but the account was disabled while the code page was open: the login
    is refused, nothing of it is written, and the code is used up all the same (it cannot be
    replayed once the account is enabled again); the wrong-code count starts again."""
    from idp.extensions import db
    from idp.mfa import flows
    from idp.models import LoginTransaction, User

    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    code_page = login.page_url
    with in_app():
        db.session.get(User, user.id).disabled = True
        db.session.commit()
    step = int(time.time()) // 30
    code = user.totp_code(0)
    login.submit({"code": code})
    assert login.response.status_code == 400 and "This account is disabled" in login.page
    with in_app():
        row = db.session.get(User, user.id)
        assert row.failed_mfa_attempts == 0 and row.last_login_at is None
        [device] = flows.credentials_of(row, kind="totp")
        assert device.data["last_used_step"] in (step, step + 1) and device.last_used_at is not None
        [txn] = db.session.scalars(db.select(LoginTransaction).filter_by(user_id=user.id)).all()
        assert txn.status == "pending" and "mfa" not in txn.completed_stages
        row.disabled = False
        db.session.commit()
    login.get(code_page)
    login.submit({"code": code})
    assert not login.redirected_to_app and "That code is not right" in login.page
