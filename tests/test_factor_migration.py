"""The migration to one ``authenticators`` table (9b2d4f6a8c10) on a database made at the
revision before it, with users holding every kind of factor of that time: after the upgrade
each of them still logs in with what they had (an authenticator app, a verified phone, a phone
an administrator set, a recovery code not yet used), and a used recovery code stays used."""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import sqlalchemy as sa

from .flows import HostedLogin, id_token_claims
from .helpers import Factory, last_sms_code

FACTORS_REVISION = "9b2d4f6a8c10"
PREVIOUS_REVISION = "5c0e1d7a9b3f"
TOTP_SECRET = pyotp.random_base32()
RECOVERY_CODES = [f"abcde-fgh{n:02d}" for n in range(10)]


@pytest.fixture
def old_database(app):
    """Users made at the previous revision, with that revision's factors."""
    from flask_migrate import downgrade, upgrade

    from idp.database import init_migrations
    from idp.extensions import db
    from idp.security import encrypt, keyed_digest

    init_migrations(app)
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        factory.sms_integration(realm)
        factory.realm("acme", mfa_enabled=True, sms_enabled=True, totp_enabled=True)
        client_id, secret = factory.client(realm)
        ids = {email: factory.user(realm, email=email).id
               for email in ("app@example.com", "phone@example.com", "admin-phone@example.com")}
        db.session.remove()

        downgrade(revision=PREVIOUS_REVISION)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO authenticators (user_id, kind, name, state, secret_encrypted, last_used_step, "
                "created_at, activated_at) VALUES (:user, 'totp', 'Pixel', 'active', :secret, 0, :now, :now)"),
                {"user": ids["app@example.com"], "secret": encrypt(TOTP_SECRET), "now": now})
            for index, code in enumerate(RECOVERY_CODES):
                connection.execute(sa.text(
                    "INSERT INTO recovery_codes (user_id, code_digest, created_at, used_at) "
                    "VALUES (:user, :digest, :now, :used)"),
                    {"user": ids["app@example.com"], "digest": keyed_digest(code.replace("-", "")), "now": now,
                     "used": now if index == 0 else None})
            connection.execute(sa.text(
                "UPDATE users SET mfa_enabled = :yes, phone = :phone, phone_verified = :yes, "
                "phone_set_by_admin = :no WHERE id = :user"),
                {"user": ids["phone@example.com"], "phone": "+14155550101", "yes": True, "no": False})
            connection.execute(sa.text(
                "UPDATE users SET mfa_enabled = :yes, phone = :phone, phone_verified = :no, "
                "phone_set_by_admin = :yes WHERE id = :user"),
                {"user": ids["admin-phone@example.com"], "phone": "+14155550102", "yes": True, "no": False})
            connection.execute(sa.text("UPDATE users SET mfa_enabled = :yes WHERE id = :user"),
                               {"user": ids["app@example.com"], "yes": True})
        upgrade(revision=FACTORS_REVISION)
        upgrade()  # and the later ones: the code below is today's
        db.session.remove()
    return client_id, secret


def _log_in(app, client_id, secret, email) -> HostedLogin:
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.authorize()
    login.log_in(email)
    return login


def test_every_kind_of_factor_still_logs_in_after_the_migration(app, old_database, instance_path):
    client_id, secret = old_database

    with_app = _log_in(app, client_id, secret, "app@example.com")
    assert "Enter the code from your authenticator app" in with_app.page
    with_app.submit({"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert id_token_claims(with_app.exchange_code())["amr"] == ["pwd", "mfa", "otp"]

    for number, email in (("+14155550101", "phone@example.com"), ("+14155550102", "admin-phone@example.com")):
        with_phone = _log_in(app, client_id, secret, email)
        assert "Enter the code we sent to" in with_phone.page, email
        with_phone.submit({"code": last_sms_code(instance_path, number)})
        if "Save your recovery codes" in (with_phone.page or ""):
            with_phone.submit({"saved": "y"})
        assert id_token_claims(with_phone.exchange_code())["amr"] == ["pwd", "mfa", "sms"], email


def test_recovery_codes_keep_their_used_and_unused_state(app, old_database):
    client_id, secret = old_database
    used = _log_in(app, client_id, secret, "app@example.com")
    used.get(used.page_url.rsplit("/", 1)[0] + "/recovery")
    used.submit({"code": RECOVERY_CODES[0]})
    assert used.response.status_code == 400, "the code used before the migration stays used"
    used.submit({"code": RECOVERY_CODES[1]})
    assert "Recovery code accepted" in used.page
    assert "You have 8 recovery codes left." in " ".join(used.page.split())


def test_realm_switches_become_the_realm_factor_list(app, old_database):
    from idp.services.realms import get_realm

    with app.app_context():
        realm = get_realm("acme")
        assert sorted(realm.mfa_factors) == ["sms", "totp"] and realm.sms_enabled and realm.totp_enabled
