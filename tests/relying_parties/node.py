"""openid-client 6 (Node) as a real relying party: its project is ``tests/relying_parties/node``
(``package.json`` and ``package-lock.json`` pin the version); ``npm ci`` installs it on first use
into its git-ignored ``node_modules``, under a lock so that parallel runs install once."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent / "node"


def node_project() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the openid-client tests (Debian: apt-get install -y nodejs npm)")
    with open(PROJECT / ".install.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (PROJECT / "node_modules" / "openid-client" / "package.json").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PROJECT, check=True,
                           timeout=300)
    return PROJECT


class NodeRelyingParty:
    """A running ``node <script>``: read its JSON lines one at a time."""

    def __init__(self, script: str, env: dict):
        self.process = subprocess.Popen(["node", script], cwd=node_project(), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env={**os.environ, **env})

    def next_line(self, timeout: float = 30) -> dict:
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            self.process.kill()
            raise AssertionError(f"openid-client said nothing for {timeout} s; stderr: {self.process.stderr.read()}")
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"openid-client ended; stderr: {self.process.stderr.read()}")
        return json.loads(line)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()
