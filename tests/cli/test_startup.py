"""`idp --help`, and the help of every command, answers at once: the CLI module imports neither
Flask, SQLAlchemy, Alembic nor Authlib; a command imports what it uses when it runs."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("alembic", "flask_migrate", "authlib", "sqlalchemy", "flask_sqlalchemy", "flask", "idp.social", "idp.models")

IMPORTED_BY_HELP = """
import json, sys
from idp.cli import main
try:
    main(sys.argv[1:], prog_name="idp")
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps(sorted(sys.modules)))
"""


def modules_imported_by(*args) -> set[str]:
    result = subprocess.run([sys.executable, "-c", IMPORTED_BY_HELP, *args], capture_output=True, text=True,
                            cwd=ROOT, timeout=60, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize("args", [
    ["--help"], ["serve", "--help"], ["demo", "--help"], ["db", "upgrade", "--help"], ["users", "--help"],
    ["realms", "set", "--help"],
], ids=" ".join)
def test_help_imports_no_framework(args):
    assert heavy(modules_imported_by(*args)) == []


def test_a_group_loaded_when_used_imports_its_own_modules_but_no_migrations():
    modules = modules_imported_by("providers", "--help")
    assert "idp.social.cli" in modules
    assert not {"alembic", "flask_migrate"} & modules


def test_help_lists_the_groups_it_loads_when_they_run():
    result = subprocess.run([sys.executable, "-c", "from idp.cli import main; main(prog_name='idp')", "--help"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    commands = result.stdout.split("Commands:")[1]
    assert re.search(r"^  providers +Upstream identity providers", commands, re.M), commands
    for name in ("admins", "api-keys", "clients", "db", "demo", "keys", "purge", "realms", "serve",
                 "sms-integrations", "users"):
        assert f"  {name} " in commands


def test_help_answers_well_under_a_second():
    fastest = min(_timed_help() for _ in range(3))
    assert fastest < 0.6, f"idp --help took {fastest:.2f}s"


def _timed_help() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from idp.cli import main; main(prog_name='idp')", "--help"],
                   capture_output=True, cwd=ROOT, timeout=60, check=True)
    return time.perf_counter() - started


def test_a_group_loaded_when_used_runs_its_commands(runner):
    result = runner("providers", "list", "--realm", "default")
    assert result.exit_code == 0, result.output
