"""idp's benchmark (not a test): ``python bench/run.py`` (``--quick`` for a short run).

One run, on this machine, with one load generator:
  - floors: argon2id verify time (m=19456 KiB, t=2, p=1), ES256 JWT signing time;
  - idp under granian as deploy/idp.service runs it (2 workers, one request at a time each;
    ``--server gunicorn``: deploy/gunicorn.conf.py, 2 workers) on a private PostgreSQL server
    with production's durability (``PrivatePostgres``; or ``IDP_BENCH_DATABASE_URL``), with its
    rate-limit and OTP counters in a private Redis as deployed (when redis-server is installed);
  - its references, up beside it for the whole run and each measured next to the idp phase it
    is compared with (``References``): a bare Flask JSON endpoint under the same server and
    workers (the ceiling), a bare WSGI function answering each client_credentials request with
    one signed token (the most any token endpoint in this stack could serve:
    ``bench/floor_app.py``), the reference peer node-oidc-provider (npm, installed into
    bench/.peer/) configured like idp's realm (JWT client_credentials tokens, refresh-token
    rotation), and the argon2id floor again just before and after the logins;
then one table: requests/s, p50/p99, each phase's ratio to the ceiling (bare Flask), the peer
and the argon2id floor as min/median/max over --repeat runs, PASS/FAIL against the targets of
issue 17 (exit status 1 when one fails), and the resident size of each idp worker after N
logins. ``--database sqlite`` runs idp on the embedded SQLite default instead."""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import socket
import statistics
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import ClientCredentials, Get, Introspect, RefreshChains, Result, run_load  # noqa: E402
from bench.logins import HostedLogins, UserPool  # noqa: E402
from bench.provision import PASSWORD, REALM, REDIRECT_URI, provision  # noqa: E402
from idp.memory import huge_page_environment  # noqa: E402

BENCH = ROOT / "bench"
PEER_DIR = BENCH / ".peer"
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
DB_ROLE = "idp_bench"
DB_NAME = os.environ.get("IDP_BENCH_DATABASE_NAME", "idp_bench")
WORKERS = 2
ARGON2 = (2, 19456, 1)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{url}: the server exited:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    sys.exit(f"{url} did not answer in {timeout} s:\n{log_path.read_text()[-3000:]}")


class Server:
    def __init__(self, name: str, command: list[str], env: dict, ready_path: str, port: int, workdir: Path,
                 cwd: Path = ROOT):
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_http(self.url + ready_path, self.process, self.log_path)

    def worker_pids(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- PostgreSQL -------------------------------------------------------------------------------

def _run(*command: str, input: str | None = None) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, input=input).stdout


def postgres_binaries() -> Path:
    """The directory of PostgreSQL's server programs (Debian's newest; as root, installed from
    Debian's packages when missing)."""
    installed = Path("/usr/lib/postgresql")
    if not any(installed.glob("*/bin/initdb")):  # postgresql-client alone has no server
        if os.geteuid() != 0:
            sys.exit("PostgreSQL is not installed: apt-get install postgresql, or set IDP_BENCH_DATABASE_URL "
                     "to a role that may create databases")
        log("installing PostgreSQL from Debian's packages")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    servers = [path.parent for path in installed.glob("*/bin/initdb")]
    return max(servers, key=lambda path: [int(p) for p in path.parent.name.split(".") if p.isdigit()])


class PrivatePostgres:
    """A PostgreSQL server of the run's own, made with ``initdb`` in a folder of its own and
    listening on a free loopback port, with the server's default settings: ``fsync`` and
    ``synchronous_commit`` on, as production runs. Not the machine's cluster: ``.ci/run``
    turns durability off there (its databases are thrown away), and a commit that need not
    reach the disk would flatter every phase that writes (the refresh rotation, the logins).
    As root the server runs as the ``postgres`` user (``initdb`` refuses root). It trusts
    connections from loopback: it holds only the run's synthetic realm, and is gone after."""

    def __init__(self):
        self.bin = postgres_binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="idp-bench-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres", "postgres")
        _run(*self.as_user, str(self.bin / "initdb"), "-D", str(self.data), "-U", DB_ROLE, "--auth=trust",
             "--no-instructions")
        _run(*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
             "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}", "start")
        self.admin_url = f"postgresql+psycopg://{DB_ROLE}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], check=False,
                       capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def fresh_database(admin_url: str) -> tuple[str, dict]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")}
    return url.set(database=DB_NAME).render_as_string(hide_password=False), settings


# --- Redis ------------------------------------------------------------------------------------

def start_redis(workdir: Path):
    """A private Redis for rate-limit and OTP counters, as a deployment of several workers has
    (deploy/): without one the counters are rows in PostgreSQL. None when redis-server is not
    installed (Debian: apt-get install redis-server); the run then says so."""
    if shutil.which("redis-server") is None:
        log("redis-server is not installed: counters stay in PostgreSQL")
        return None, None
    port = free_port()
    process = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                "--appendonly", "no"], cwd=workdir, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, start_new_session=True)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            return process, f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    sys.exit("redis-server did not start")


# --- the peer -----------------------------------------------------------------------------------

def install_peer() -> None:
    """npm install of bench/peer/package.json into bench/.peer/ (git-ignored), once."""
    PEER_DIR.mkdir(exist_ok=True)
    wanted = (BENCH / "peer" / "package.json").read_text()
    installed = PEER_DIR / "package.json"
    if installed.exists() and installed.read_text() == wanted and (PEER_DIR / "node_modules" / "oidc-provider").exists():
        return
    if shutil.which("npm") is None:
        sys.exit("npm is not installed (Debian: apt-get install nodejs npm), or run with --no-peer")
    log("installing oidc-provider from npm into bench/.peer/")
    installed.write_text(wanted)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True)


def peer_tokens(url: str, count: int) -> list[dict]:
    """Refresh and access tokens from the peer's code flow (its minimal login interaction)."""
    from urllib.parse import parse_qs, urljoin, urlsplit

    import requests

    tokens = []
    for n in range(count):
        http = requests.Session()
        response = http.get(f"{url}/auth", allow_redirects=False, params={
            "response_type": "code", "client_id": "bench", "redirect_uri": REDIRECT_URI,
            "scope": "openid email offline_access", "prompt": "consent", "state": str(n)})
        response = http.post(urljoin(url, response.headers["location"]), data={"login": f"user{n}"},
                             allow_redirects=False)
        while not response.headers["location"].startswith(REDIRECT_URI):
            response = http.get(urljoin(url, response.headers["location"]), allow_redirects=False)
        code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
        token = requests.post(f"{url}/token", auth=("bench", "bench-secret"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
        token.raise_for_status()
        tokens.append(token.json())
    return tokens


# --- floors ---------------------------------------------------------------------------------------

def argon2_verify_times(rounds: int) -> list[float]:
    """Seconds of each of ``rounds`` argon2id verifies, one at a time."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=ARGON2[0], memory_cost=ARGON2[1], parallelism=ARGON2[2])
    hashed = hasher.hash(PASSWORD)
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        hasher.verify(hashed, PASSWORD)
        times.append(time.perf_counter() - began)
    return times


def es256_sign_seconds(rounds: int) -> float:
    from joserfc import jwt
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", auto_kid=True)
    now = int(time.time())
    claims = {"iss": "http://127.0.0.1:8000/realms/bench", "sub": "bench", "aud": "http://127.0.0.1:8000/realms/bench",
              "client_id": "bench", "iat": now, "exp": now + 600, "jti": secrets.token_hex(16), "scope": ""}
    header = {"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}
    for _ in range(50):
        jwt.encode(header, claims, key, algorithms=["ES256"])
    began = time.perf_counter()
    for _ in range(rounds):
        jwt.encode(header, claims, key, algorithms=["ES256"])
    return (time.perf_counter() - began) / rounds


# --- profiling --------------------------------------------------------------------------------------

class Profiler:
    """py-spy on every worker while a phase runs; collapsed stacks go to bench/.profiles/.

    Only the thread holding the GIL is sampled (``--gil``): where Python runs. Without it, a
    gthread worker's threads waiting to take the GIL back after a system call (``select``,
    ``os.urandom``, a socket write) are counted at that call, which once made a per-request
    ``select`` look like a twentieth of the request (removing it changed nothing)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and shutil.which("py-spy") is not None
        if enabled and not self.enabled:
            log("py-spy is not installed (pip install py-spy): profiling skipped")
        self.folder = BENCH / ".profiles"
        self.running: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, pids: list[int]) -> None:
        if not self.enabled:
            return
        self.folder.mkdir(exist_ok=True)
        for pid in pids:
            path = self.folder / f"{name}-{pid}.txt"
            process = subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
                                        "--output", str(path), "--nonblocking", "--gil"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.running.append((process, path))

    def stop(self, name: str) -> None:
        if not self.enabled:
            return
        paths = []
        for process, path in self.running:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
            paths.append(path)
        self.running.clear()
        summarize_profile(name, paths)


def summarize_profile(name: str, paths: list[Path], top: int = 12) -> None:
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = [f for f in stack.split(";") if f]
            frames = frames[1:] if frames and frames[0].startswith(("process ", "thread ")) else frames
            if not frames or "(threading.py" in frames[-1] and "wait" in frames[-1]:
                continue
            total += n
            own[frames[-1]] = own.get(frames[-1], 0) + n
            for frame in set(frames):
                if "idp/" in frame or "/authlib/" in frame or "/joserfc/" in frame or "/sqlalchemy/" in frame:
                    inclusive[frame] = inclusive.get(frame, 0) + n
    if not total:
        return
    print(f"\nprofile of {name} ({total} busy samples): own time")
    for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:5.1f}%  {frame}")
    print("  inclusive (idp, Authlib, joserfc, SQLAlchemy):")
    for frame, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:5.1f}%  {frame}")


# --- the run --------------------------------------------------------------------------------------

GUNICORN_EXTRA: list[str] = []


SERVER = {"name": "granian"}


def granian_threads() -> str:
    """Blocking threads per granian worker: ``IDP_THREADS``, one by default (README "Which WSGI
    server")."""
    return os.environ.get("IDP_THREADS", "1")


def server_threads() -> str:
    """What the table's header says of each worker's threads."""
    if SERVER["name"] == "granian":
        return f"x {granian_threads()} blocking thread(s)"
    return "(threads: deploy/gunicorn.conf.py, IDP_THREADS)"


def server_command(app: str, *extra: str, port: int | None = None, folder: Path | None = None) -> list[str]:
    """The WSGI server for ``app``: granian's WSGI mode (the default) with its runtime
    single-threaded and one blocking thread (``IDP_THREADS``), as ``deploy/idp.service`` runs
    it, or gunicorn with deploy/gunicorn.conf.py (``--server gunicorn``), ``WORKERS`` workers
    either way. idp and the bare Flask ceiling always run under the same one."""
    if SERVER["name"] == "granian":
        return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(WORKERS), "--runtime-mode", "st",
                "--blocking-threads", granian_threads(),
                "--no-ws", "--log-level", "warning", *(["--working-dir", str(folder)] if folder else []), app]
    return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), *GUNICORN_EXTRA, *extra, app]


def connections_by_process(port: int) -> dict[int, int] | None:
    """The server process (pid) holding each established connection to ``port``, by the
    client's port (from ``ss``); None where ``ss`` is missing."""
    try:
        listing = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                                 capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {int(client_port): int(pid)
            for client_port, pid in re.findall(r"\S+:\d+\s+\S+:(\d+)\s+users:\(\(\"[^\"]*\",pid=(\d+)", listing)}


def phase(name, port, scenario, args, *, workers: int | None = None, **kwargs) -> Result:
    """One measured phase; ``workers``: the server has that many worker processes, and the
    connections are spread evenly over them (``loadgen.open_evenly``)."""
    kwargs.setdefault("seconds", args.seconds)
    if workers and workers > 1:
        kwargs.update(spread=lambda: connections_by_process(port), workers=workers)
    result = asyncio.run(run_load(name, "127.0.0.1", port, scenario, connections=args.connections,
                                  warmup=args.warmup, **kwargs))
    log(result.summary() + (f" first error: {result.first_error}" if result.first_error else ""))
    return result


def run_idp(args, workdir: Path, database_url: str, redis_url: str | None, results: dict,
            profiler: Profiler, references: References) -> dict:
    """idp under the chosen WSGI server on ``database_url``; every measured phase ``args.repeat`` times."""
    from cryptography.fernet import Fernet

    from idp import create_app
    from idp.config import load_settings

    port = free_port()
    # As deploy/idp.service runs it: argon2id's blocks in huge pages (idp.memory.bound_malloc).
    env = huge_page_environment({k: v for k, v in os.environ.items() if not k.startswith("IDP_")})
    env.update({
        "IDP_INSTANCE": str(workdir / "instance"),
        "IDP_DATABASE_URL": database_url,
        "IDP_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "IDP_SERVER_SECRET_KEY": secrets.token_urlsafe(32),
        "IDP_SECURITY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "IDP_SECURITY_TOKEN_HASH_KEY": secrets.token_urlsafe(32),
        # Every request comes from 127.0.0.1: the per-IP form limit stays on (its counter is
        # still written on every post) but high enough for the run.
        "IDP_SECURITY_FORM_RATE_LIMIT": "1000000 per minute",
        "IDP_SECURITY_LOGIN_TRANSACTION_RATE_LIMIT": "1000000 per minute",
        "IDP_BIND": f"127.0.0.1:{port}",
        "IDP_WORKERS": str(WORKERS),
        "IDP_ACCESS_LOG": "",
    })
    if redis_url:
        env["IDP_REDIS_URL"] = redis_url
    log(f"provisioning realm '{REALM}' with {args.users} users on {database_url.split(':')[0]}")
    app = create_app(workdir / "instance", settings=load_settings(None, environ=env))
    setup = provision(app, args.users)
    with app.app_context():
        from idp.extensions import db

        db.session.remove()
        db.engine.dispose()
    server = Server("idp", server_command("idp.wsgi:app", port=port), env, "/healthz", port, workdir)
    info = {"workers": server.worker_pids()}
    try:
        realm = f"/realms/{REALM}"
        pool = UserPool(setup.emails, setup.totp_secret)

        def measured(name, scenario, repeat=None, **kwargs):
            if args.only and name not in args.only:
                return
            profiler.start(f"idp-{name}", server.worker_pids())
            try:
                for n in range(repeat or args.repeat):
                    references.around(name, n, lambda n=n: results.setdefault(("idp", name), []).append(
                        phase(f"idp {name} #{n + 1}", port, scenario, args, workers=WORKERS, **kwargs)))
            finally:
                profiler.stop(f"idp {name}")

        measured("discovery", Get(f"{realm}/.well-known/openid-configuration"))
        measured("jwks", Get(f"{realm}/jwks"))
        measured("token_cc", ClientCredentials(f"{realm}/token", setup.client_id, setup.client_secret))
        tokens: list[dict] = []
        seed = HostedLogins(REALM, setup.client_id, setup.client_secret, REDIRECT_URI, PASSWORD, pool, keep_tokens=tokens)
        seeded = phase("idp seed logins", port, seed, argparse.Namespace(connections=args.connections, seconds=600, warmup=0),
              max_operations=args.connections + 1)
        measured("token_refresh", RefreshChains(f"{realm}/token", setup.client_id, setup.client_secret,
                                                [t["refresh_token"] for t in tokens[1:]]))
        measured("userinfo", Get(f"{realm}/userinfo", {"Authorization": f"Bearer {tokens[0]['access_token']}"}))
        measured("introspection", Introspect(f"{realm}/introspect", setup.client_id, setup.client_secret,
                                             tokens[0]["access_token"]))
        logins = HostedLogins(REALM, setup.client_id, setup.client_secret, REDIRECT_URI, PASSWORD, pool)
        log(f"idp: full logins, up to {args.logins} or {args.login_seconds:g} s")
        measured("logins", logins, repeat=1, max_operations=args.logins, seconds=args.login_seconds)
        info["rss_mb"] = [rss_mb(pid) for pid in server.worker_pids()]
        if ("idp", "logins") in results:
            info["logins_done"] = results[("idp", "logins")][0].all_operations + seeded.all_operations
    finally:
        server.stop()
    return info


class References:
    """The servers idp is compared with, up for the whole run, and each measured next to the idp
    phase it is compared with: before every repeat of an idp phase its references run, and
    after it (``around``). The machine's speed drifts by a factor of two over minutes on
    shared cores (issue 17, session 14), so a reference measured minutes away from its phase
    says more about the minute than about idp.

    - the ceiling: a bare Flask JSON endpoint (``floor_app:app``) under the same server and
      workers, next to every phase with a ceiling target;
    - the client_credentials floor (``floor_app:signing_app``), next to client_credentials;
    - the peer, node oidc-provider, next to every phase it answers too;
    - the argon2id floor, before and after the logins.

    One repeat runs ceiling, idp, peer (then the client_credentials floor); the next the floor,
    peer, idp, ceiling: the two targets' references are always beside the phase, and a drift
    through a repeat's minute falls on each side alike."""

    CEILING = frozenset({"discovery", "jwks", "token_cc", "userinfo", "introspection"})
    PEER = frozenset({"discovery", "jwks", "token_cc", "token_refresh", "userinfo"})

    def __init__(self, args, workdir: Path, results: dict):
        """Starts the references the run's phases need (``--only``); any it started are stopped
        again if one fails to start."""
        self.args = args
        self.results = results
        self.servers: list[Server] = []
        self.peer_scenarios: dict = {}
        wanted = args.only or self.CEILING | self.PEER
        needs_ceiling, needs_signing = bool(wanted & self.CEILING), "token_cc" in wanted
        needs_peer = bool(args.peer and wanted & self.PEER)
        started = [name for name, needed in (("the bare Flask ceiling", needs_ceiling),
                                             ("the client_credentials floor", needs_signing),
                                             ("the peer", needs_peer)) if needed]
        if started:
            log("references: " + ", ".join(started))
        env = huge_page_environment({**os.environ, "IDP_WORKERS": str(WORKERS), "IDP_ACCESS_LOG": ""})
        self.ceiling = self.signing = self.peer = None
        try:
            if needs_ceiling:
                self.ceiling = self._start_floor_app("flask", "floor_app:app", "/document", env, workdir)
            if needs_signing:
                self.signing = self._start_floor_app("signing", "floor_app:signing_app", "/", env, workdir)
            if needs_peer:
                install_peer()
                port = free_port()
                self.peer = Server("peer", ["node", str(BENCH / "peer" / "server.mjs"), str(port)],
                                   {**os.environ, "PEER_MODULES": str(PEER_DIR), "NODE_ENV": "production"},
                                   "/.well-known/openid-configuration", port, workdir)
                self.servers.append(self.peer)
        except BaseException:
            self.stop()
            raise

    def _start_floor_app(self, name: str, app: str, ready_path: str, env: dict, workdir: Path) -> Server:
        port = free_port()
        server = Server(name, server_command(app, "--pythonpath", str(BENCH), port=port, folder=BENCH),
                        {**env, "IDP_BIND": f"127.0.0.1:{port}"}, ready_path, port, workdir)
        self.servers.append(server)
        return server

    def _peer_scenario(self, name: str):
        """The peer's request for phase ``name`` (None where the peer has no counterpart), made
        once: a refresh chain goes on where its last repeat stopped."""
        if name not in self.peer_scenarios:
            url = self.peer.url
            if name == "discovery":
                scenario = Get("/.well-known/openid-configuration")
            elif name == "jwks":
                scenario = Get("/jwks")
            elif name == "token_cc":
                scenario = ClientCredentials("/token", "bench", "bench-secret", {"scope": "api"})
            elif name == "token_refresh":
                tokens = peer_tokens(url, self.args.connections)
                scenario = RefreshChains("/token", "bench", "bench-secret", [t["refresh_token"] for t in tokens])
            elif name == "userinfo":
                # a new token: the in-memory adapter's LRU may have dropped older ones
                scenario = Get("/me", {"Authorization": f"Bearer {peer_tokens(url, 1)[0]['access_token']}"})
            else:
                scenario = None
            self.peer_scenarios[name] = scenario
        return self.peer_scenarios[name]

    def _references(self, name: str, n: int) -> list:
        """The reference phases of repeat ``n`` of idp's phase ``name``, as (results key, run)."""
        args, runs = self.args, []
        if name in self.CEILING and self.ceiling is not None:
            runs.append((("ceiling", name), lambda: phase(f"bare Flask JSON (next to {name}) #{n + 1}",
                                                          self.ceiling.port, Get("/document"), args, workers=WORKERS)))
        if self.peer is not None and name in self.PEER:
            runs.append((("peer", name), lambda: phase(f"peer {name} #{n + 1}", self.peer.port,
                                                       self._peer_scenario(name), args)))
        if name == "token_cc" and self.signing is not None:
            runs.append((("floor", "signing"), lambda: phase(
                f"bare WSGI ES256 token #{n + 1}", self.signing.port, ClientCredentials("/token", "bench", "x"), args,
                workers=WORKERS)))
        return runs

    def around(self, name: str, n: int, measure_idp) -> None:
        """Repeat ``n`` of idp's phase ``name`` (``measure_idp``) with its references beside it."""
        if name == "logins":
            before = argon2_verify_times(7 if self.args.quick else 21)
            measure_idp()
            self.results.setdefault(("floor", "argon2_around_logins"), []).extend(
                before + argon2_verify_times(7 if self.args.quick else 21))
            return
        references = self._references(name, n)
        if n % 2 == 0:
            before, after = references[:1], references[1:]
        else:
            before, after = references[::-1][:-1], references[::-1][-1:]
        for key, run in before:
            self.results.setdefault(key, []).append(run())
        measure_idp()
        for key, run in after:
            self.results.setdefault(key, []).append(run())

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def fmt_rate(value) -> str:
    return "—" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def spread(ratios: list[float]) -> str:
    if not ratios:
        return "—"
    return f"{min(ratios):.2f}/{statistics.median(ratios):.2f}/{max(ratios):.2f}x"


#: Issue 17's targets: (label, phase, {reference: minimum ratio}, p99 limit in ms or None).
#: "ceiling" is the bare Flask JSON endpoint under the same server and workers, "peer" node
#: oidc-provider, "argon2" the argon2id verify rate of the same number of workers.
TARGETS = [
    ("discovery", "discovery", {"ceiling": 0.9}, None),
    ("JWKS", "jwks", {"ceiling": 0.9}, None),
    ("token client_credentials", "token_cc", {"ceiling": 0.5, "peer": 1.0}, 50.0),
    ("token refresh (rotation)", "token_refresh", {"peer": 0.5}, None),
    ("userinfo", "userinfo", {"ceiling": 0.35}, None),
    ("introspection (JWT)", "introspection", {"ceiling": 0.35}, None),
    ("full logins (argon2id+TOTP)", "logins", {"argon2": 0.35}, None),
]


def ratios_to(reference: str, key: str, ours: list[Result], results: dict, argon2_per_s: float) -> list[float]:
    """One ratio per repeat, each against the reference measured next to it (``References``)."""
    if reference == "argon2":
        return [r.rate / argon2_per_s for r in ours]
    theirs = results.get((reference, key), [])
    return [mine.rate / other.rate for mine, other in zip(ours, theirs) if other.rate]


def print_table(args, results: dict, floors: dict, idp_info: dict, pg: dict) -> bool:
    argon2_per_s = WORKERS / floors["argon2_s"]
    headers = ["endpoint", "idp req/s", "p50 ms", "p99 ms", "peer req/s", "x ceiling", "x peer", "x argon2",
               "target", "result"]
    rows, verdicts = [], []
    for label, key, minimums, p99_limit in TARGETS:
        ours = results.get(("idp", key))
        if not ours:
            rows.append([label, "—", "—", "—", "—", "—", "—", "—", "", "n/a"])
            verdicts.append(None)
            continue
        peer = results.get(("peer", key))
        ratios = {name: ratios_to(name, key, ours, results, argon2_per_s) for name in ("ceiling", "peer", "argon2")}
        checks = [statistics.median(ratios[name]) >= minimum for name, minimum in minimums.items() if ratios[name]]
        p99 = statistics.median(r.p99_ms for r in ours)
        if p99_limit is not None:
            checks.append(p99 < p99_limit)
        verdict = all(checks) if checks else None
        verdicts.append(verdict)
        target = ", ".join(f">={m:.2f}x {n}" for n, m in minimums.items()) + (
            f", p99<{p99_limit:g}ms" if p99_limit else "")
        rows.append([label, fmt_rate(statistics.median(r.rate for r in ours)),
                     f"{statistics.median(r.p50_ms for r in ours):.1f}", f"{p99:.1f}",
                     fmt_rate(statistics.median(r.rate for r in peer)) if peer else "—",
                     spread(ratios["ceiling"]) if key != "logins" else "—", spread(ratios["peer"]),
                     spread(ratios["argon2"]) if key == "logins" else "—", target,
                     {True: "PASS", False: "FAIL", None: "n/a"}[verdict]])

    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join("{:<%d}" % widths[0] if i == 0 else "{:>%d}" % w for i, w in enumerate(widths))
    print()
    print(f"idp benchmark — {args.database}{' + Redis' if idp_info.get('redis') else ''}, {args.connections} "
          f"connections, {args.seconds:g} s per phase after {args.warmup:g} s warm-up, {args.repeat} repeats "
          f"(ratios min/median/max, one per repeat against the reference measured next to it; verdict on "
          f"the median), {SERVER['name']} {WORKERS} workers {server_threads()} {' '.join(GUNICORN_EXTRA)} "
          f"(GLIBC_TUNABLES={huge_page_environment(os.environ)['GLIBC_TUNABLES']}), {os.cpu_count()} cores "
          f"shared with the load generator")
    print(line.format(*headers))
    print(line.format(*["-" * w for w in widths]))
    for r in rows:
        print(line.format(*r))
    rss = idp_info.get("rss_mb") or []
    done = idp_info.get("logins_done", 0)
    rss_ok = bool(rss) and max(rss) < 120
    verdicts.append(rss_ok if done >= 10000 else (None if rss_ok else False))
    note = "" if done >= 10000 else " (the target is after 10,000 logins; run with --logins 10000)"
    print(f"memory: RSS per idp worker after {done:,} logins: "
          + ", ".join(f"{m:.0f} MB" for m in rss) + f" — target < 120 MB: {'PASS' if rss_ok else 'FAIL'}{note}")
    ceilings = ", ".join(f"{key} {' / '.join(fmt_rate(r.rate) for r in runs)}"
                         for (kind, key), runs in results.items() if kind == "ceiling")
    print(f"references: ceiling (bare Flask JSON, measured next to each phase) {ceilings or '—'} req/s")
    around = results.get(("floor", "argon2_around_logins"))
    print(f"argon2id verify {floors['argon2_s'] * 1000:.1f} ms (m=19456 KiB, t=2, p=1"
          f"{', median of the verifies just before and after the logins' if around else ''}) = "
          f"{argon2_per_s:.1f} logins/s on {WORKERS} workers; ES256 JWT sign {floors['sign_s'] * 1e6:.0f} us")
    signing = results.get(("floor", "signing")) or []
    if signing:
        peer_cc = results.get(("peer", "token_cc")) or []
        versus = [mine.rate / other.rate for mine, other in zip(signing, peer_cc) if other.rate]
        print(f"client_credentials floor (bare WSGI function, one ES256 token by joserfc, no Flask, no client "
              f"check, no database; bench/floor_app.py): {' / '.join(fmt_rate(r.rate) for r in signing)} req/s"
              + (f" = {spread(versus)} the peer's client_credentials" if versus else ""))
    if pg:
        print(f"PostgreSQL {pg.get('server_version')} (fsync={pg.get('fsync')}, "
              f"synchronous_commit={pg.get('synchronous_commit')}); counters in "
              f"{'Redis' if idp_info.get('redis') else 'the database'}; peer: oidc-provider, one Node process, "
              f"in-memory adapter")
    print(f"load: {Path('/proc/loadavg').read_text().strip()}")
    failed = [v for v in verdicts if v is False]
    print(f"targets: {sum(1 for v in verdicts if v)} PASS, {len(failed)} FAIL, "
          f"{sum(1 for v in verdicts if v is None)} n/a")
    return not failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short phases, at most 500 logins (about 3 minutes)")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per endpoint (default 10)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds per endpoint (default 2)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each phase (logins: one); default 3")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres",
                        help="postgres (default: a fresh database, Redis for counters) or sqlite (the embedded "
                             "default: a file, no Redis)")
    parser.add_argument("--logins", type=int, default=None, help="full logins to run at most (default 10000)")
    parser.add_argument("--login-seconds", type=float, default=None,
                        help="stop the logins after this many seconds (default 240)")
    parser.add_argument("--users", type=int, default=None, help="users to provision (default: enough)")
    parser.add_argument("--no-peer", dest="peer", action="store_false", help="skip node-oidc-provider")
    parser.add_argument("--only", default="", help="comma-separated phases: discovery,jwks,token_cc,"
                        "token_refresh,userinfo,introspection,logins (default: all)")
    parser.add_argument("--gunicorn-args", default="", help="extra gunicorn options with --server gunicorn, e.g. '--threads 8'")
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="granian",
                        help="WSGI server for idp and the ceiling (default granian, as deploy/idp.service runs it)")
    parser.add_argument("--profile", action="store_true",
                        help="run py-spy on the idp workers and print where time goes (slows idp down)")
    args = parser.parse_args(argv)
    args.only = {p.strip() for p in args.only.split(",") if p.strip()}
    if args.gunicorn_args and args.server != "gunicorn":
        parser.error("--gunicorn-args needs --server gunicorn")
    GUNICORN_EXTRA.extend(args.gunicorn_args.split())
    SERVER["name"] = args.server
    args.seconds = args.seconds if args.seconds is not None else (3 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.logins = args.logins if args.logins is not None else (500 if args.quick else 10000)
    args.login_seconds = args.login_seconds or (60 if args.quick else 240)
    args.users = args.users or max(1000, min(args.logins + 2 * args.connections, 6000))

    workdir = Path(tempfile.mkdtemp(prefix="idp-bench-"))
    log(f"work folder {workdir}")
    results: dict = {}
    log("floors: argon2id and ES256 signing")
    floors = {"argon2_s": statistics.median(argon2_verify_times(7 if args.quick else 21)),
              "sign_s": es256_sign_seconds(500 if args.quick else 2000)}
    profiler = Profiler(args.profile)
    references = redis_process = postgres = None
    try:
        if args.database == "sqlite":
            database_url, pg = f"sqlite:///{workdir / 'idp.sqlite3'}", {}
        elif os.environ.get("IDP_BENCH_DATABASE_URL"):
            database_url, pg = fresh_database(os.environ["IDP_BENCH_DATABASE_URL"])
        else:
            postgres = PrivatePostgres()
            database_url, pg = fresh_database(postgres.admin_url)
        references = References(args, workdir, results)
        redis_process, redis_url = start_redis(workdir) if args.database == "postgres" else (None, None)
        idp_info = run_idp(args, workdir, database_url, redis_url, results, profiler, references)
    finally:
        if references is not None:
            references.stop()
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
        if postgres is not None:
            postgres.stop()
    idp_info["redis"] = bool(redis_url)
    around_logins = results.get(("floor", "argon2_around_logins"))
    if around_logins:
        floors["argon2_s"] = statistics.median(around_logins)
    ok = print_table(args, results, floors, idp_info, pg)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
