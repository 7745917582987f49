"""Import benchmark: ``idp users import`` of generated users (bcrypt and PBKDF2-SHA256 as
Django and Keycloak store them, mixed), then a sample logs in and is re-hashed to argon2id.

    python -m bench.import_users --users 100000                       # embedded SQLite
    python -m bench.import_users --users 100000 \\
        --database-url postgresql+psycopg://idp_test:idp_test@127.0.0.1:5432/idp_bench

Hashing 100,000 passwords with bcrypt would take longer than the import itself, so a few
hashes (one per format) are made once and reused: the timing is the import's, whose checks
parse each hash but never verify it. The generated file is streamed to disk first, then
imported through the same function the command runs; the time printed is the import's alone,
and the peak memory the process's maximum resident set size (``getrusage``), which includes
the interpreter and the application (about 100 MB before the import starts)."""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import bcrypt

PASSWORD = "bench import password"


def sample_hashes() -> list:
    salt = "benchsalt"
    django = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt.encode(), 260000)
    keycloak_salt = b"bench-keycloak-s"
    keycloak = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), keycloak_salt, 27500, dklen=64)
    return [
        bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode(),
        f"pbkdf2_sha256$260000${salt}${base64.b64encode(django).decode()}",
        {"algorithm": "pbkdf2-sha256", "value": base64.b64encode(keycloak).decode(),
         "salt": base64.b64encode(keycloak_salt).decode(), "iterations": 27500},
    ]


def write_users(path: Path, count: int) -> None:
    hashes = sample_hashes()
    with path.open("w") as out:
        for n in range(count):
            out.write(json.dumps({"email": f"user{n}@import.example", "name": f"User {n}", "email_verified": n % 2 == 0,
                                  "password_hash": hashes[n % len(hashes)]}) + "\n")


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary instance folder")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)

    from idp import create_app
    from idp.config import load_settings
    from idp.database import bootstrap
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import authenticate_password
    from idp.transfer.jsonl import import_users

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "users.jsonl"
        started = time.perf_counter()
        write_users(data, args.users)
        print(f"generated {args.users} users in {time.perf_counter() - started:.1f} s "
              f"({data.stat().st_size / 1e6:.0f} MB)")
        settings = load_settings(None, environ={})
        settings.maintenance.purge_interval = 0
        if args.database_url:
            settings.database.url = args.database_url
        app = create_app(Path(folder) / "instance", settings=settings)
        with app.app_context():
            bootstrap()
            before = peak_memory_mb()
            started = time.perf_counter()
            with data.open("rb") as lines:
                report = import_users(get_realm("default"), lines, batch_size=args.batch_size,
                                      on_rejected=lambda n, reason: print(f"line {n}: {reason}", file=sys.stderr))
            elapsed = time.perf_counter() - started
            print(f"{report.summary()} in {elapsed:.1f} s ({report.imported / elapsed:.0f} users/s) "
                  f"on {db.engine.dialect.name}")
            print(f"peak memory (maxrss): {peak_memory_mb():.0f} MB (before the import: {before:.0f} MB)")
            with app.test_request_context():
                for n in (0, 1, 2):
                    user = authenticate_password(get_realm("default"), f"user{n}@import.example", PASSWORD)
                    assert user is not None and user.password_hash.startswith("$argon2id$")
                    db.session.commit()
            print("users 0-2 (bcrypt, Django PBKDF2, Keycloak PBKDF2) logged in and were re-hashed to argon2id")
            if args.database_url:
                db.drop_all()
                db.session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
                db.session.commit()
    return 0 if report.rejected == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
