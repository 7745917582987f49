"""The README's command-line reference runs as written: every command of its first ``sh`` block
under "Command line", in order, against a new instance. Optional parts (``[...]``) are left out
and placeholders take what an operator would type: ``CLIENT_ID`` the id the ``clients create``
above printed, ``NAME`` the ``--name`` given when that thing was added; of ``a|b|c`` the first.
A command whose placeholder nothing above defined (``--client-id ...`` of an upstream provider,
Twilio's ``AC...``, a second client ``API_CLIENT_ID``) stays unrun, and the test names those, so the block cannot silently lose
commands. The servers (``idp serve``, ``idp demo``) are not started."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from .helpers import PASSWORD

README = Path(__file__).resolve().parents[1] / "README.md"
SERVERS = ("idp serve", "idp demo", "idp worker")
#: Commands that need something the block does not create (credentials from an upstream).
NOT_RUNNABLE_HERE = {
    "idp sms-integrations add --realm acme --kind twilio",
    "idp clients set API_CLIENT_ID",
    "idp providers add",
    "idp providers set",
    "idp providers list",
    "idp providers enable",
    "idp webhooks show",
    "idp clients initial-token revoke",
}


def reference_commands() -> list[str]:
    text = README.read_text()
    section = text.split("\n## Command line\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands, current = [], ""
    for line in block.splitlines():
        line = re.sub(r"\s+#.*$", "", line) if not line.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        current += " " + line.strip()
        if current.endswith("\\"):
            current = current[:-1]
            continue
        commands.append(" ".join(current.split()))
        current = ""
    return commands


def without_optional_parts(command: str) -> str:
    while True:
        shorter = re.sub(r"\s*\[[^\[\]]*\]", "", command)
        if shorter == command:
            return command
        command = shorter


def test_the_readme_reference_block_runs_as_written(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files the block writes (an export) land here
    ran, unrun, names, client_ids = [], [], {}, []
    for command in reference_commands():
        if command.startswith(SERVERS):
            continue
        command = without_optional_parts(command)
        if any(command.startswith(prefix) for prefix in NOT_RUNNABLE_HERE):
            unrun.append(command)
            continue
        words = shlex.split(command)
        assert words[0] == "idp"
        args = [word.split("|")[0] if "|" in word else word for word in words[1:]]
        group = args[0]
        if "CLIENT_ID" in args:
            args = [client_ids[-1] if word == "CLIENT_ID" else word for word in args]
        if "NAME" in args:
            args = [names[group] if word == "NAME" else word for word in args]
        assert "..." not in " ".join(args), command
        result = runner(*args, input=f"{PASSWORD}\n" if "-" in args else None)
        assert result.exit_code == 0, f"{command}\n{result.output}"
        if "--name" in args:
            names[group] = args[args.index("--name") + 1]
        if args[:2] == ["clients", "create"]:
            client_ids.append(re.search(r"client_id: (\S+)", result.stdout).group(1))
        ran.append(" ".join(args[:2]))

    assert ran.index("sms-integrations add") < ran.index("realms set"), "--sms on needs an SMS integration first"
    assert {"realms create", "realms set", "clients create", "clients delete", "users create",
            "clients show", "users set", "users delete", "keys rotate", "api-keys revoke", "sms-integrations activate"} <= set(ran)
    assert len(unrun) == len(NOT_RUNNABLE_HERE), unrun
