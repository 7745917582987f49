"""Where a hosted login's CPU goes, request by request: full logins run in this process through
the app's whole WSGI stack (express lanes, Flask, the views), one at a time, and each request's
thread CPU time is measured. No server, no network, no other thread: what this prints is the
app's own cost, which ``bench/run.py``'s logins phase divides among server, database and load
generator.

    python -m bench.login_cost                                   # SQLite file, 150 logins
    python -m bench.login_cost --database-url postgresql+psycopg://user:pw@127.0.0.1/empty_db \\
        --redis-url redis://127.0.0.1:6379/0 --logins 300

The database must be empty (the script creates realm ``bench`` in it). A login is the bench's:
authorize, login page, password, TOTP page, TOTP code, code exchange with PKCE, each user's
authenticator used once (``bench/provision.py``). The first tenth of the logins warm up and are
not counted. ``--statements`` also counts the SQL statements of each request."""
from __future__ import annotations

import argparse
import collections
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import basic_auth  # noqa: E402 - after the checkout is importable
from bench.logins import _path, authorization_request, csrf_token, form_action  # noqa: E402

PUBLIC_URL = "http://127.0.0.1:9000"


class StatementCounter:
    """SQL statements sent (``--statements``): those SQLAlchemy executes, and the prebuilt ones
    run straight on a driver's cursor (``idp.database.DirectStatement``), which bypass the
    engine's events."""

    def __init__(self, app):
        from sqlalchemy import event

        from idp.database import DirectStatement
        from idp.extensions import db

        self.count = 0
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._seen)
        run_on = DirectStatement.run_on

        def counted_run_on(statement, connection, parameters):
            self._seen()
            return run_on(statement, connection, parameters)

        DirectStatement.run_on = counted_run_on

    def _seen(self, *_args):
        self.count += 1


class Login:
    def __init__(self, app, provisioned, redirect_uri: str, password: str, counter: StatementCounter | None):
        self.app = app
        self.client = None
        self.p = provisioned
        self.redirect_uri = redirect_uri
        self.password = password
        self.counter = counter
        self.cpu: dict[str, list[float]] = collections.defaultdict(list)
        self.statements: dict[str, list[int]] = collections.defaultdict(list)
        self.auth = basic_auth(provisioned.client_id, provisioned.client_secret)

    def _request(self, label: str, method: str, path: str, **kwargs):
        before = self.counter.count if self.counter else 0
        started = time.thread_time()
        response = self.client.open(path, method=method, base_url=PUBLIC_URL, **kwargs)
        self.cpu[label].append((time.thread_time() - started) * 1000)
        if self.counter:
            self.statements[label].append(self.counter.count - before)
        return response

    def _follow(self, label: str, response):
        while response.status_code in (302, 303) and not response.headers["Location"].startswith(self.redirect_uri):
            response = self._request(label, "GET", _path(response.headers["Location"]))
        return response

    def run(self, email: str, code: str) -> None:
        """One login in a new browser (no cookies: no single sign-on from the last one)."""
        from werkzeug.test import Client

        self.client = Client(self.app)
        authorize, verifier = authorization_request("bench", self.p.client_id, self.redirect_uri)
        response = self._request("1 authorize", "GET", authorize)
        page = self._follow("2 login page", response)
        body = page.get_data()
        response = self._request("3 password", "POST", form_action(body),
                                 data={"csrf_token": csrf_token(body), "email": email, "password": self.password})
        assert response.status_code in (302, 303), (response.status_code, response.get_data(as_text=True)[:300])
        page = self._follow("4 code page", response)
        body = page.get_data()
        response = self._request("5 code", "POST", form_action(body), data={"csrf_token": csrf_token(body), "code": code})
        response = self._follow("5 code", response)
        location = response.headers.get("Location", "")
        assert location.startswith(self.redirect_uri), (response.status_code, response.get_data(as_text=True)[:300])
        callback = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        response = self._request("6 code exchange", "POST", "/realms/bench/token", headers={"Authorization": self.auth},
                                 data={"grant_type": "authorization_code", "code": callback["code"],
                                       "redirect_uri": self.redirect_uri, "code_verifier": verifier})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]


def argon2_verify_ms(rounds: int = 10) -> float:
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    hashed = hasher.hash("floor")
    started = time.thread_time()
    for _ in range(rounds):
        hasher.verify(hashed, "floor")
    return (time.thread_time() - started) / rounds * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a new SQLite file)")
    parser.add_argument("--redis-url", default=None, help="Redis for counters, as in production")
    parser.add_argument("--logins", type=int, default=150)
    parser.add_argument("--statements", action="store_true", help="count SQL statements per request")
    args = parser.parse_args(argv)

    import pyotp
    from cryptography.fernet import Fernet

    from bench.provision import PASSWORD, REDIRECT_URI, provision
    from idp import create_app
    from idp.config import load_settings

    folder = Path(tempfile.mkdtemp(prefix="idp-login-cost-"))
    environ = {
        "IDP_INSTANCE": str(folder / "instance"),
        "IDP_DATABASE_URL": args.database_url or f"sqlite:///{folder / 'idp.sqlite3'}",
        "IDP_SERVER_PUBLIC_URL": PUBLIC_URL,
        "IDP_SERVER_SECRET_KEY": secrets.token_urlsafe(32),
        "IDP_SECURITY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "IDP_SECURITY_TOKEN_HASH_KEY": secrets.token_urlsafe(32),
        "IDP_SECURITY_FORM_RATE_LIMIT": "1000000 per minute",
        "IDP_SECURITY_LOGIN_TRANSACTION_RATE_LIMIT": "1000000 per minute",
        "IDP_ACCESS_LOG": "",
    }
    if args.redis_url:
        environ["IDP_REDIS_URL"] = args.redis_url
    app = create_app(folder / "instance", settings=load_settings(None, environ=environ))
    provisioned = provision(app, args.logins + 1)
    counter = StatementCounter(app) if args.statements else None
    login = Login(app, provisioned, REDIRECT_URI, PASSWORD, counter)
    totp = pyotp.TOTP(provisioned.totp_secret)
    for email in provisioned.emails[1:args.logins + 1]:  # the template user's code was used at enrolment
        login.run(email, totp.now())

    warm = max(1, args.logins // 10)
    print(f"{args.logins - warm} logins counted after {warm} warm-up; database {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}"
          f"{', Redis' if args.redis_url else ''}; thread CPU per request")
    print(f"{'request':18s} {'median ms':>10s} {'mean ms':>9s}" + (f" {'statements':>10s}" if counter else ""))
    total = 0.0
    for label in sorted(login.cpu):
        values = login.cpu[label][warm:]
        total += statistics.mean(values) * len(login.cpu[label]) / args.logins
        line = f"{label:18s} {statistics.median(values):10.2f} {statistics.mean(values):9.2f}"
        if counter:
            line += f" {statistics.mean(login.statements[label][warm:]):10.1f}"
        print(line)
    floor = argon2_verify_ms()
    print(f"a whole login: {total:.1f} ms of CPU, of which one argon2id verify (m=19456 KiB, t=2, p=1) "
          f"takes {floor:.1f} ms alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
