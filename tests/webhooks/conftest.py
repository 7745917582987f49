"""Fixtures for the webhook stories: an app that may deliver to loopback over http with short
retries, a real receiver process (``receiver.py``) that verifies signatures with the
``standardwebhooks`` package, and ``idp worker`` processes on the test's database."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: Loopback over http is what a test receiver is; retries and leases short enough to wait for.
WEBHOOK_SETTINGS = {"allow_private_targets": True, "allow_http": True, "timeout_seconds": 2,
                    "first_retry_seconds": 1, "max_retry_interval_seconds": 2}
WEBHOOK_ENVIRONMENT = {f"IDP_WEBHOOKS_{key.upper()}": str(value) for key, value in WEBHOOK_SETTINGS.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


@pytest.fixture
def app(make_app):
    return make_app(webhooks=dict(WEBHOOK_SETTINGS))


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Receiver:
    """The receiver process; ``kept`` is what it accepted, once per webhook-id."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self, *secrets: str, fail_first: int = 0):
        self.secrets = secrets
        args = [sys.executable, str(HERE / "receiver.py"), str(self.port), ",".join(secrets), str(self.folder)]
        if fail_first:
            args += ["--fail-first", str(fail_first)]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def restart(self):
        return self.start(*self.secrets)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.kill()

    def kept(self) -> list[dict]:
        return _read(self.folder / "kept.jsonl")

    def duplicates(self) -> list[dict]:
        return _read(self.folder / "duplicates.jsonl")

    def rejected(self) -> list[dict]:
        return _read(self.folder / "rejected.jsonl")


@pytest.fixture
def receiver(tmp_path):
    made = []

    def make(name="receiver"):
        folder = tmp_path / name
        folder.mkdir()
        made.append(Receiver(folder))
        return made[-1]

    yield make
    for one in made:
        one.stop()


class WorkerProcess:
    """``idp worker`` in a process of its own on the test's instance folder and database."""

    def __init__(self, instance_path, database_url, log: Path):
        self.instance_path, self.database_url, self.log = instance_path, database_url, log
        self.process = None

    def start(self, *extra):
        env = {k: v for k, v in os.environ.items() if not (k.startswith("IDP_") and not k.startswith("IDP_TEST_"))}
        env.update(WEBHOOK_ENVIRONMENT, IDP_DATABASE_URL=self.database_url,
                   IDP_MAINTENANCE_PURGE_INTERVAL="0")
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "idp.cli", "--instance", str(self.instance_path), "worker", *extra],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(instance_path, database_url, tmp_path):
    made = []

    def make(name="worker"):
        made.append(WorkerProcess(instance_path, database_url, tmp_path / f"{name}.log"))
        return made[-1]

    yield make
    for one in made:
        one.stop()


@pytest.fixture
def acme(factory):
    return factory.realm("acme")


@pytest.fixture
def api(client, acme):
    from tests.api.conftest import ApiClient, make_api_key

    return ApiClient(client, make_api_key(acme))


def deliver_due(app) -> int:
    """What ``idp worker --once`` does, in this process: send every delivery that is due now."""
    from idp.webhooks.worker import DeliveryWorker

    worker = DeliveryWorker(app)
    total = 0
    while (sent := worker.run_once()):
        total += sent
    return total
