"""`idp users import` / `export`: a user base moved in from another system (bcrypt, Django and
Keycloak PBKDF2, argon2 hashes; TOTP secrets and phones), logging in with the password it had
there and re-hashed to argon2id; bad lines reported by number and reason, never half-written."""
from __future__ import annotations

import base64
import hashlib
import json

import bcrypt
import pyotp
import pytest
from argon2 import PasswordHasher

PASSWORD = "correct horse battery staple"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def django_hash(password, salt="seasalt123", iterations=1000):
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def keycloak_credential(password, iterations=1000):
    salt = b"0123456789abcdef"
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, dklen=64)
    return {"algorithm": "pbkdf2-sha256", "value": base64.b64encode(digest).decode(),
            "salt": base64.b64encode(salt).decode(), "iterations": iterations}


def lines(*records) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


@pytest.fixture
def import_file(tmp_path):
    def write(*records):
        path = tmp_path / "users.jsonl"
        path.write_bytes(lines(*records))
        return str(path)

    return write


def users_in(app, realm="default"):
    from idp.extensions import db
    from idp.models import Authenticator, User
    from idp.services.realms import get_realm

    with app.app_context():
        realm = get_realm(realm)
        result = {}
        for user in db.session.scalars(db.select(User).filter_by(realm_id=realm.id)):
            kinds = sorted(a.kind for a in db.session.scalars(db.select(Authenticator).filter_by(user_id=user.id)))
            result[user.email] = (user.password_hash, kinds)
        return result


def log_in(app, email, password, realm="default"):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import authenticate_password

    with app.test_request_context():
        user = authenticate_password(get_realm(realm), email, password)
        db.session.commit()
        return user is not None


def test_users_from_four_hash_formats_log_in_with_their_old_password_and_are_rehashed_to_argon2id(
        runner, import_file, make_app):
    path = import_file(
        {"email": "bea@example.com", "password_hash": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode(),
         "email_verified": True, "name": "Bea"},
        {"email": "dan@example.com", "password_hash": django_hash(PASSWORD)},
        {"email": "kim@example.com", "password_hash": keycloak_credential(PASSWORD)},
        {"email": "ari@example.com", "password_hash": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1,
                                                                      type=__import__("argon2").Type.I).hash(PASSWORD)},
    )
    result = runner("users", "import", path)
    assert result.exit_code == 0, result.output
    assert "imported 4 user(s), rejected 0 line(s) of 4" in result.stdout
    app = make_app()
    for email in ("bea@example.com", "dan@example.com", "kim@example.com", "ari@example.com"):
        assert not log_in(app, email, "wrong password entirely")
        assert not users_in(app)[email][0].startswith("$argon2id$")
        assert log_in(app, email, PASSWORD)
        assert users_in(app)[email][0].startswith("$argon2id$")
        assert log_in(app, email, PASSWORD)


def test_totp_secret_and_phone_come_along_and_the_totp_code_verifies(runner, import_file, make_app):
    from idp.mfa.base import Challenge
    from idp.mfa.registry import get_factor
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    path = import_file({"email": "tia@example.com", "password_hash": django_hash(PASSWORD),
                        "mfa": {"factors": [{"type": "totp", "secret": SECRET, "name": "Work phone"},
                                            {"type": "sms", "phone": "+14155550100", "verified": True}]}})
    assert runner("users", "import", path).exit_code == 0
    app = make_app()
    with app.test_request_context():
        realm = get_realm("default")
        user = get_user(realm, "tia@example.com")
        assert user.mfa_enabled
        challenge = Challenge(realm=realm, user=user, binding="login:test")
        assert get_factor("totp").verify(challenge, {"code": pyotp.TOTP(SECRET).now()}) is not None


def test_export_writes_what_import_reads_and_a_round_trip_keeps_hashes_secrets_and_ids(
        runner, import_file, make_app, tmp_path):
    path = import_file({"id": "0b9e6f2a-5f7e-4a43-9d7a-2f3c1e1d0a11", "email": "Ola@Example.com",
                        "password_hash": django_hash(PASSWORD), "email_verified": True,
                        "mfa": {"factors": [{"type": "totp", "secret": SECRET}]}})
    assert runner("realms", "create", "other").exit_code == 0
    assert runner("users", "import", path).exit_code == 0
    out = tmp_path / "export.jsonl"
    assert runner("users", "export", "--output", str(out)).exit_code == 0
    [line] = [json.loads(text) for text in out.read_text().splitlines()]
    assert line["id"] == "0b9e6f2a5f7e4a439d7a2f3c1e1d0a11"
    assert line["email"] == "Ola@example.com" and line["email_verified"] is True
    assert line["password_hash"] == django_hash(PASSWORD)
    assert line["mfa"] == {"enabled": True, "factors": [{"type": "totp", "name": "Authenticator", "secret": SECRET}]}
    line.pop("id")
    (tmp_path / "again.jsonl").write_text(json.dumps(line) + "\n")
    result = runner("users", "import", "--realm", "other", str(tmp_path / "again.jsonl"))
    assert result.exit_code == 0, result.output
    app = make_app()
    assert log_in(app, "ola@example.com", PASSWORD, realm="other")


BAD_LINES = [
    (b"{not json", "malformed JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"email": "x@example.com", "password_hash": "md5$abc$def"}', "unknown password hash format"),
    (b'{"email": "x@example.com", "password_hash": "$2b$31$' + b"a" * 53 + b'"}', "bcrypt cost"),
    (b'{"email": "x@example.com", "password_hash": "pbkdf2_sha256$999999999$salt$aGFzaGhhc2hoYXNoaGFzaA=="}',
     "iterations"),
    # an argon2 hash without its digest or salt never verifies: the user could never log in
    (b'{"email": "x@example.com", "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$"}', "argon2 hash"),
    (b'{"email": "x@example.com", "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$$"}', "argon2 hash"),
    # thousands of lanes cost seconds and as many threads at each login check
    ((b'{"email": "x@example.com", "password_hash": "$argon2id$v=19$m=131072,t=1,p=16384$c2FsdHNhbHQ$'
      b'AAAAAAAAAAAAAAAAAAAAAA"}'), "argon2 hash's cost"),
    (b'{"email": "x@example.com", "mfa": {"factors": [{"type": "sms", "phone": "+1 555"}]}}', "mfa factor 'sms'"),
    (b'{"email": "x@example.com", "mfa": {"factors": [{"type": "totp", "secret": "short"}]}}', "totp secret"),
    (b'{"email": "x@example.com", "mfa": {"factors": [{"type": "recovery"}]}}', "cannot be imported"),
    (b'{"email": "not an address"}', "not a valid email"),
    (b'{"email": "x@example.com", "emial_verified": true}', "unknown field"),
    (b'{"email": "x@example.com", "email_verified": "yes"}', "true or false"),
    (b'{"email": "x\\u0000@example.com"}', "NUL"),
    (b'{"email": "\xff\xfe@example.com"}', "not valid UTF-8"),
    (b'{"email": "x@example.com", "name": "' + b"n" * 70000 + b'"}', "longer than"),
]


@pytest.mark.parametrize("line, reason", BAD_LINES, ids=[r for _l, r in BAD_LINES])
def test_a_bad_line_is_reported_with_its_number_and_reason_and_the_others_are_imported(
        runner, import_file, make_app, line, reason):
    path = import_file({"email": "first@example.com"}, line, {"email": "third@example.com"})
    result = runner("users", "import", path)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "line 2: " in result.stderr and reason in result.stderr, result.stderr
    assert "imported 2 user(s), rejected 1 line(s) of 3" in result.stdout
    users = users_in(make_app())
    assert "first@example.com" in users and "third@example.com" in users
    assert "x@example.com" not in users


def test_a_user_whose_factor_is_bad_is_not_written_at_all(runner, import_file, make_app):
    path = import_file({"email": "half@example.com", "password_hash": django_hash(PASSWORD),
                        "mfa": {"factors": [{"type": "totp", "secret": SECRET}, {"type": "sms", "phone": "+1 555"}]}})
    assert runner("users", "import", path).exit_code == 1
    assert "half@example.com" not in users_in(make_app())
    from idp.models import Authenticator

    app = make_app()
    with app.app_context():
        from idp.extensions import db

        assert db.session.scalar(db.select(db.func.count()).select_from(Authenticator)) == 0


def test_duplicate_emails_in_the_file_and_in_the_realm_are_refused(runner, import_file, make_app):
    assert runner("users", "create", "--email", "old@example.com", "--password", PASSWORD).exit_code == 0
    path = import_file({"email": "new@example.com"}, {"email": "NEW@example.com"}, {"email": "old@example.com"})
    result = runner("users", "import", path)
    assert "line 2: the same email is on line 1 of this file" in result.stderr
    assert "line 3: an account with this email already exists" in result.stderr
    assert "imported 1 user(s), rejected 2 line(s) of 3" in result.stdout


def test_a_dry_run_reports_and_writes_nothing(runner, import_file, make_app):
    path = import_file({"email": "dry@example.com"}, b"{oops")
    result = runner("users", "import", "--dry-run", path)
    assert "would import 1 user(s), rejected 1 line(s) of 2" in result.stdout
    assert "line 2: malformed JSON" in result.stderr
    assert "dry@example.com" not in users_in(make_app())


def test_batches_commit_as_they_go(runner, import_file, make_app):
    path = import_file(*[{"email": f"u{i}@example.com", "password_hash": django_hash(PASSWORD)} for i in range(25)])
    result = runner("users", "import", "--batch-size", "7", path)
    assert "imported 25 user(s)" in result.stdout
    assert len(users_in(make_app())) == 25


def test_an_imported_bcrypt_user_logs_in_on_the_hosted_page_and_leaves_with_an_argon2id_hash(
        app, factory, runner, import_file):
    from ..flows import HostedLogin

    realm = factory.realm("acme")
    client_id, secret = factory.client(realm)
    path = import_file({"email": "hal@example.com", "email_verified": True,
                        "password_hash": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()})
    assert runner("users", "import", "--realm", "acme", path).exit_code == 0
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.authorize()
    login.log_in("hal@example.com", PASSWORD)
    assert login.redirected_to_app, login.page
    assert login.exchange_code()["id_token"]
    assert users_in(app, "acme")["hal@example.com"][0].startswith("$argon2id$")
