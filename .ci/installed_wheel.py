"""CI: idp as an operator installs it, away from the checkout.

Builds the wheel (README "Production": ``pip install .``), installs it into a fresh virtualenv
under /tmp, runs ``idp db upgrade`` on a new PostgreSQL database, sets up a realm with SMS MFA,
a public client and a user with the installed ``idp`` command, starts ``granian ... idp.wsgi:app``
from that virtualenv with README "Production"'s options and ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1``
(its workers must not log the warning they log without it) and completes one login:
password, the texted code read from the outbox, the recovery codes page, the code exchanged for
tokens (PKCE), userinfo. Nothing here imports the checkout's ``idp``: what runs is only what the
wheel carries (migrations, themes, templates).

    python .ci/installed_wheel.py        # needs IDP_TEST_DATABASE_URL (a role that may create databases)
"""
from __future__ import annotations

import base64
import hashlib
import html.parser
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent


def readme_server_command(venv: Path, port: int) -> list[str]:
    """README "Production"'s ``granian ...`` command as written (continued lines joined), run
    from ``venv`` on ``port``."""
    section = (ROOT / "README.md").read_text().split("\n## Production\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1).replace("\\\n", " ")
    line = next(line for line in block.splitlines() if line.startswith("granian "))
    command = shlex.split(line.split("#", 1)[0])
    command[0] = str(venv / "bin" / "granian")
    command[command.index("--port") + 1] = str(port)
    return command
REALM = "acme"
EMAIL = "alice@example.com"
PASSWORD = "installed-wheel-password"
PHONE = "+14155550100"
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never opened: the login stops at its redirect


def say(message: str) -> None:
    print(f"[installed wheel] {message}", flush=True)


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(map(str, args))}\n{result.stdout}\n{result.stderr}")
    return result


def build_wheel(work: Path) -> Path:
    """``pip wheel`` builds in the checkout's build/ folder; a stale one could add files that no
    longer exist, so it goes first."""
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    dist = work / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(ROOT))
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    (wheel,) = dist.glob("idp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("migrations", "themes"):
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT)
            if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
                assert f"idp/bundled/{relative.as_posix()}" in names, f"the wheel lacks {relative}"
    tracked = run("git", "ls-files", "idp", cwd=ROOT).stdout.split()
    for path in tracked:
        if not path.endswith(".py") and not path.endswith("babel.cfg"):
            assert path in names, f"the wheel lacks {path}"
    return wheel


def install(work: Path, wheel: Path) -> Path:
    venv = work / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    run(str(venv / "bin" / "pip"), "install", "--quiet", str(wheel))
    where = run(str(venv / "bin" / "python"), "-c", "import idp; print(idp.__file__)", cwd=work).stdout.strip()
    assert where.startswith(str(venv)), f"idp imported from {where}, not from the virtualenv"
    return venv


def fresh_database(admin_url: str) -> tuple[str, str]:
    name = f"idp_wheel_{os.getpid()}"
    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Forms(html.parser.HTMLParser):
    """The page's forms: action and fields (name -> value), as a browser would submit them."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": {}})
        elif tag in ("input", "textarea", "select") and self.forms and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                self.forms[-1]["fields"].setdefault(attrs["name"], None)
            else:
                self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "y" if kind == "checkbox" else "")


class Browser:
    def __init__(self, base_url: str, outbox: Path):
        self.http = requests.Session()
        self.base_url = base_url
        self.outbox = outbox
        self.url = ""
        self.page = ""

    def follow(self, response):
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(REDIRECT_URI):
                return location
            response = self.http.get(location, allow_redirects=False, timeout=30)
        assert response.status_code == 200, f"{response.status_code} at {response.url}: {response.text[:2000]}"
        self.url, self.page = response.url, response.text
        return None

    def submit(self, fill: dict):
        parser = Forms()
        parser.feed(self.page)
        form = next((f for f in parser.forms if set(fill) <= set(f["fields"])), None)
        assert form is not None, f"no form with {sorted(fill)} at {self.url}:\n{self.page[:3000]}"
        data = {name: value for name, value in form["fields"].items() if value is not None}
        data.update(fill)
        response = self.http.post(urljoin(self.url, form["action"]), data=data, allow_redirects=False, timeout=30)
        return self.follow(response)

    def texted_codes(self) -> list[str]:
        if not self.outbox.exists():
            return []
        return [re.search(r"\b(\d{6})\b", json.loads(line)["body"]).group(1)
                for line in self.outbox.read_text().splitlines() if line.strip()]

    def log_in(self, client_id: str) -> dict:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        realm_url = f"{self.base_url}/realms/{REALM}"
        start = self.http.get(f"{realm_url}/authorize", allow_redirects=False, timeout=30, params={
            "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "scope": "openid email",
            "state": "s1", "nonce": "n1", "code_challenge": challenge, "code_challenge_method": "S256"})
        callback = self.follow(start)
        stylesheet = re.search(r'<link[^>]+href="([^"]+\.css)"', self.page).group(1)
        assert self.http.get(urljoin(self.url, stylesheet), timeout=30).status_code == 200, "the theme's stylesheet"
        callback = callback or self.submit({"email": EMAIL, "password": PASSWORD})
        steps = 0
        while callback is None:
            steps += 1
            assert steps < 6, f"the login does not end: {self.url}\n{self.page[:3000]}"
            parser = Forms()
            parser.feed(self.page)
            fields = {name for form in parser.forms for name in form["fields"]}
            if "code" in fields:
                codes = self.texted_codes()
                assert codes, f"no text in {self.outbox}"
                say(f"second factor: the code texted to {PHONE}")
                callback = self.submit({"code": codes[-1]})
            elif "saved" in fields:
                say("recovery codes: saved")
                callback = self.submit({"saved": "y"})
            else:
                raise AssertionError(f"unexpected page {self.url}:\n{self.page[:3000]}")
        params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
        assert params.get("state") == "s1" and params.get("code"), callback
        token = self.http.post(f"{realm_url}/token", timeout=30, data={
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT_URI,
            "client_id": client_id, "code_verifier": verifier})
        assert token.status_code == 200, token.text
        userinfo = requests.get(f"{realm_url}/userinfo", timeout=30,
                                headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert userinfo.status_code == 200, userinfo.text
        return userinfo.json()


def main() -> int:
    admin_url = os.environ.get("IDP_TEST_DATABASE_URL")
    if not admin_url:
        raise SystemExit("set IDP_TEST_DATABASE_URL to a PostgreSQL role that may create databases")
    work = Path(tempfile.mkdtemp(prefix="idp-installed-wheel-", dir="/tmp"))
    started = time.monotonic()
    database, database_url = fresh_database(admin_url)
    server = None
    try:
        wheel = build_wheel(work)
        say(f"built {wheel.name} ({time.monotonic() - started:.0f}s)")
        venv = install(work, wheel)
        say(f"installed into {venv} ({time.monotonic() - started:.0f}s)")
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        instance = work / "instance"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("IDP_", "PYTHON"))}
        env.update(IDP_INSTANCE=str(instance), IDP_DATABASE_URL=database_url, IDP_SERVER_PUBLIC_URL=base_url,
                   PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
        # README "Production": argon2id's blocks in huge pages (idp/memory.py warns without it);
        # idp.memory.huge_page_environment does this, but nothing here imports the checkout's idp
        tunables = [item for item in env.get("GLIBC_TUNABLES", "").split(":") if item]
        if not any(item.startswith("glibc.malloc.hugetlb=") for item in tunables):
            env["GLIBC_TUNABLES"] = ":".join([*tunables, "glibc.malloc.hugetlb=1"])

        def idp(*args, input=None):
            return run(str(venv / "bin" / "idp"), *args, cwd=work, env=env, input=input)

        assert "not current" in idp("db", "current").stdout
        idp("db", "upgrade")
        assert idp("db", "current").stdout.strip() == "current"
        say(f"migrated PostgreSQL database {database}")
        idp("realms", "create", REALM)
        idp("sms-integrations", "add", "--realm", REALM, "--kind", "outbox", "--name", "dev", "--active")
        idp("realms", "set", REALM, "--mfa", "on", "--sms", "on")
        client = json.loads(idp("clients", "create", "--realm", REALM, "--name", "Shop", "--public",
                                "--redirect-uri", REDIRECT_URI, "--json").stdout)
        idp("users", "create", "--realm", REALM, "--email", EMAIL, "--password", "-", input=f"{PASSWORD}\n")
        idp("users", "set", EMAIL, "--realm", REALM, "--mfa", "on", "--phone", PHONE)

        log = (work / "server.log").open("w")
        server = subprocess.Popen(readme_server_command(venv, port), cwd=work, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        for _ in range(120):
            try:
                if requests.get(f"{base_url}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # the server listens before its workers are ready
                pass
            assert server.poll() is None, (work / "server.log").read_text()
            time.sleep(0.5)
        else:
            raise AssertionError(f"granian did not answer:\n{(work / 'server.log').read_text()}")
        say(f"granian idp.wsgi:app serves {base_url}")
        claims = Browser(base_url, instance / "sms-outbox.jsonl").log_in(client["client_id"])
        assert claims["email"] == EMAIL, claims
        served = (work / "server.log").read_text()
        assert "GLIBC_TUNABLES does not include" not in served, served
        say(f"logged in as {claims['email']} (sub {claims['sub']}) in {time.monotonic() - started:.0f}s")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database(admin_url, database)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
