"""Fixtures for running the provider as operators do: real gunicorn processes on loopback ports,
each with an instance folder of its own (as on separate machines), sharing one database (the
test's SQLite file, or its PostgreSQL database under ``IDP_TEST_DATABASE=postgres``) and the
secrets given in configuration; Redis from ``IDP_TEST_REDIS_URL`` or a ``redis-server`` the
test starts and stops itself."""
from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ..helpers import FAST_ARGON2

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
UNIT = ROOT / "deploy" / "idp.service"
IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def skip_or_fail(reason: str):
    """Skip a test whose service is missing on a developer's machine; in CI it is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: CI must provide it)")
    pytest.skip(reason)


def unit_command() -> tuple[list[str], dict[str, str]]:
    """The command and the ``GRANIAN_*`` settings ``deploy/idp.service`` starts the server with,
    the command run from this Python's environment (the unit's is ``/opt/idp/venv``)."""
    command, settings = None, {}
    for line in UNIT.read_text().splitlines():
        if line.startswith("ExecStart="):
            command = shlex.split(line.removeprefix("ExecStart="))
        elif line.startswith("Environment=GRANIAN_"):
            name, _, value = line.removeprefix("Environment=").partition("=")
            settings[name] = value
    assert command and Path(command[0]).name == "granian", "deploy/idp.service starts granian"
    return [sys.executable, "-m", "granian", *command[1:]], settings


def server_command(server: str, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """The command (and its settings) for each WSGI server the README documents: granian as the
    systemd unit runs it, gunicorn with its config file."""
    if server == "granian":
        command, settings = unit_command()
        return command, {**settings, "GRANIAN_HOST": "127.0.0.1", "GRANIAN_PORT": str(port),
                         "GRANIAN_WORKERS": str(workers)}
    return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), "idp.wsgi:app"], {}


def worker_pids(server: ServerProcess) -> list[int]:
    """The server's worker processes: its master's children (multiprocessing's resource tracker,
    which ``spawn`` adds, aside)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()]


def _accepted_socket(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if state == "01" and int(local.rsplit(":", 1)[1], 16) == server_port \
                and int(remote.rsplit(":", 1)[1], 16) == client_port:
            return inode
    return None


def _holder(pids: list[int], inode: str) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == target:
                    return pid
            except OSError:
                continue
    return None


def connect_to_worker(server: ServerProcess, pid: int | None = None, *, pids: list[int] | None = None,
                      attempts: int = 100) -> tuple[int, http.client.HTTPConnection]:
    """A keep-alive connection accepted by worker ``pid`` of ``server`` (by any of ``pids`` when
    ``pid`` is None), as ``(pid, connection)``. The workers race to accept from one socket, so
    connections are opened until one lands there; which process holds it is read from ``/proc``."""
    pids = pids or worker_pids(server)
    for _ in range(attempts):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        inode = _accepted_socket(server.port, connection.sock.getsockname()[1])
        holder = _holder(pids, inode) if inode else None
        if holder is not None and (pid is None or holder == pid):
            return holder, connection
        connection.close()
    raise AssertionError(f"no connection to worker {pid or pids} of {server.name} in {attempts} attempts")


class ServerProcess:
    """``gunicorn -c deploy/gunicorn.conf.py 'idp.wsgi:app'`` (or granian's WSGI mode, as
    ``deploy/idp.service`` runs it) on a loopback port."""

    def __init__(self, name: str, port: int, env: dict, log_path: Path, *, command: list[str]):
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server {self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server {self.name} did not become healthy in {timeout} s:\n{self.log()}")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()


@pytest.fixture
def shared_secrets(instance_path) -> dict:
    """The secrets the test instance was migrated with (its realm keys are encrypted under
    them), handed to every server through configuration as production does."""
    data = json.loads((instance_path / "secrets.json").read_text())
    return {
        "IDP_SERVER_SECRET_KEY": data["secret_key"],
        "IDP_SECURITY_ENCRYPTION_KEY": data["encryption_key"],
        "IDP_SECURITY_TOKEN_HASH_KEY": data["token_hash_key"],
    }


@pytest.fixture
def start_server(tmp_path, database_url, shared_secrets):
    """``start_server(name, public_url=..., **IDP_settings)`` starts one gunicorn process (two
    workers, the deploy config) on its own instance folder and the test's database;
    ``server="granian"`` starts granian instead, as ``deploy/idp.service`` does."""
    servers: list[ServerProcess] = []

    def start(name: str, *, port: int | None = None, public_url: str | None = None, workers: int = 2,
              wait: bool = True, server: str = "gunicorn", **settings: str) -> ServerProcess:
        if server == "granian" and importlib.util.find_spec("granian") is None:
            skip_or_fail("granian is not installed (pip install -e '.[test]' brings it)")
        port = port or free_port()
        folder = tmp_path / f"server-{name}"
        folder.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not (k.startswith("IDP_") and not k.startswith("IDP_TEST_"))}
        env.update(shared_secrets)
        env.update({
            "IDP_INSTANCE": str(folder),
            "IDP_DATABASE_URL": database_url,
            "IDP_SERVER_PUBLIC_URL": public_url or f"http://127.0.0.1:{port}",
            "IDP_SECURITY_ARGON2_TIME_COST": str(FAST_ARGON2[0]),
            "IDP_SECURITY_ARGON2_MEMORY_COST": str(FAST_ARGON2[1]),
            "IDP_SECURITY_ARGON2_PARALLELISM": str(FAST_ARGON2[2]),
            "IDP_BIND": f"127.0.0.1:{port}",
            "IDP_WORKERS": str(workers),
            "IDP_ACCESS_LOG": "",
            **settings,
        })
        command, server_settings = server_command(server, port, workers)
        env.update(server_settings)
        process = ServerProcess(name, port, env, tmp_path / f"server-{name}.log", command=command)
        servers.append(process)
        if wait:
            process.wait_ready()
        return process

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def test_redis_url() -> str:
    """The shared Redis server of ``IDP_TEST_REDIS_URL``; keys a test writes there carry a
    name of its own, so test runs that share the server never count each other's hits."""
    url = os.environ.get("IDP_TEST_REDIS_URL")
    if not url:
        skip_or_fail("IDP_TEST_REDIS_URL is not set: these tests need a Redis server "
                     "(redis://127.0.0.1:6379/0; .ci/run starts one)")
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as error:
        skip_or_fail(f"no Redis answers at IDP_TEST_REDIS_URL={url}: {error}")
    return url


class RedisServer:
    """A ``redis-server`` of the test's own on a free loopback port, with no persistence, that
    the test may kill and start again on the same port."""

    def __init__(self, binary: str, folder: Path):
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_timeout=1).ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None:
                    raise AssertionError((self.folder / "redis.log").read_text())
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture
def own_redis(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("redis-server is not installed (Debian: apt-get install redis-server)")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(binary, folder)
    server.start()
    yield server
    server.kill()
