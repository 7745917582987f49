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
    from idp.mfa import flows
    from idp.mfa.registry import get_factor
    from idp.mfa.totp.factor import credential_secret
    from idp.models import Authenticator, User
    from idp.services.clients import create_client
    from idp.services.realms import create_realm
    from idp.services.users import create_user, email_key

    with app.app_context():
        bootstrap()
        # An hour: the userinfo and introspection phases reuse one token from the seed logins,
        # and with their references run beside them a long run outlasts the default 10 minutes.
        realm = create_realm(REALM, mfa_enabled=True, totp_enabled=True, mfa_required=True,
                             access_token_lifetime=3600)
        client, secret = create_client(realm, name="Bench app", redirect_uris=[REDIRECT_URI],
                                       client_credentials=True, id_token_signed_response_alg="ES256",
                                       client_id="bench")
        template = create_user(realm, email="user0@bench.example", password=PASSWORD, email_verified=True)
        device = get_factor("totp").begin_enrolment(template, {})
        totp_secret = credential_secret(device)
        flows.complete_enrolment(device, {"code": pyotp.TOTP(totp_secret).now()}, by="user")
        flows.issue_backup_codes(template)
        template.mfa_enabled = True
        db.session.commit()
        template_rows = list(db.session.scalars(db.select(Authenticator).filter_by(user_id=template.id)))

        emails = [template.email]
        user_rows, device_rows = [], []
        for n in range(1, users):
            user_id = secrets.token_hex(16)
            email = f"user{n}@bench.example"
            emails.append(email)
            user_rows.append({
                "id": user_id, "realm_id": realm.id, "email": email, "email_normalized": email_key(email), "email_verified": True, "name": None,
                "password_hash": template.password_hash, "mfa_enabled": True, "phone_verified": False,
                "phone_set_by_admin": False, "failed_mfa_attempts": 0, "disabled": False,
                "created_at": template.created_at,
            })
            for row in template_rows:
                data = dict(row.data)
                if row.kind == "totp":
                    data["last_used_step"] = 0
                device_rows.append({
                    "id": secrets.token_hex(16), "user_id": user_id, "kind": row.kind, "name": row.name,
                    "state": row.state, "data": data, "revision": 0, "created_at": template.created_at,
                    "activated_at": row.activated_at,
                })
        for table, rows in ((User.__table__, user_rows), (Authenticator.__table__, device_rows)):
            for start in range(0, len(rows), 1000):
                db.session.execute(sa.insert(table), rows[start:start + 1000])
        db.session.commit()
        # The template's device already used this time step: rest it like the copies.
        for row in template_rows:
            if row.kind == "totp":
                row.data = {**row.data, "last_used_step": 0}
        db.session.commit()
        return Provisioned(client.client_id, secret, totp_secret, emails)
