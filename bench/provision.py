"""The benchmark's realm in idp's database, made with idp's own services: realm ``bench`` with
TOTP required, one confidential client (code flow, refresh tokens, client_credentials), and
users with a password (argon2id at the configured parameters) and an active authenticator app.

The first user is made exactly as the product makes one; the others are copies of its rows
(same password hash and TOTP secret, each with its own id, email and device row), so thousands
of users cost one argon2id hash instead of thousands."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

REALM = "bench"
REDIRECT_URI = "http://127.0.0.1:9999/callback"
PASSWORD = "bench password 1234"


@dataclass
class Provisioned:
    client_id: str
    client_secret: str
    totp_secret: str
    emails: list[str] = field(default_factory=list)


def provision(app, users: int) -> Provisioned:
    import pyotp
    import sqlalchemy as sa

    from idp.database import bootstrap
    from idp.extensions import db
    from idp.mfa.recovery import generate_recovery_codes
    from idp.mfa.totp import activate_totp, begin_totp_enrolment
    from idp.models import Authenticator, RecoveryCode, User
    from idp.services.clients import create_client
    from idp.services.realms import create_realm
    from idp.services.users import create_user

    with app.app_context():
        bootstrap()
        realm = create_realm(REALM, mfa_enabled=True, totp_enabled=True, mfa_required=True)
        client, secret = create_client(realm, name="Bench app", redirect_uris=[REDIRECT_URI],
                                       client_credentials=True, id_token_signed_response_alg="ES256",
                                       client_id="bench")
        template = create_user(realm, email="user0@bench.example", password=PASSWORD, email_verified=True)
        device, totp_secret = begin_totp_enrolment(template)
        assert activate_totp(template, device, pyotp.TOTP(totp_secret).now())
        generate_recovery_codes(template)
        template.mfa_enabled = True
        db.session.commit()
        device_row = db.session.get(Authenticator, device.id)

        emails = [template.email]
        user_rows, device_rows, code_rows = [], [], []
        for n in range(1, users):
            user_id = secrets.token_hex(16)
            email = f"user{n}@bench.example"
            emails.append(email)
            user_rows.append({
                "id": user_id, "realm_id": realm.id, "email": email, "email_verified": True, "name": None,
                "password_hash": template.password_hash, "mfa_enabled": True, "phone_verified": False,
                "phone_set_by_admin": False, "failed_mfa_attempts": 0, "disabled": False,
                "created_at": template.created_at,
            })
            device_rows.append({
                "user_id": user_id, "kind": "totp", "name": device_row.name, "state": "active",
                "secret_encrypted": device_row.secret_encrypted, "last_used_step": 0,
                "created_at": template.created_at, "activated_at": template.created_at,
            })
            code_rows.append({"user_id": user_id, "code_digest": secrets.token_hex(32), "created_at": template.created_at})
        for table, rows in ((User.__table__, user_rows), (Authenticator.__table__, device_rows),
                            (RecoveryCode.__table__, code_rows)):
            for start in range(0, len(rows), 1000):
                db.session.execute(sa.insert(table), rows[start:start + 1000])
        db.session.commit()
        # The template's device already used this time step: rest it like the copies.
        db.session.execute(sa.update(Authenticator.__table__).values(last_used_step=0))
        db.session.commit()
        return Provisioned(client.client_id, secret, totp_secret, emails)
