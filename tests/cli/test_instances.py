"""All state lives in the instance folder (``--instance`` or ``IDP_INSTANCE``): two folders are
two independent providers, and a fresh folder sets itself up on first use."""
from __future__ import annotations

import json

from click.testing import CliRunner

from idp.cli import main


def test_two_instance_folders_are_two_independent_providers(runner, instance_path, tmp_path, monkeypatch):
    other = tmp_path / "other-instance"
    monkeypatch.setenv("IDP_INSTANCE", str(other))

    created = CliRunner().invoke(main, ["realms", "create", "solo"], catch_exceptions=False)

    assert created.exit_code == 0, created.output
    assert {"idp.sqlite3", "secrets.json"} <= {p.name for p in other.iterdir()}
    there = json.loads(CliRunner().invoke(main, ["realms", "list", "--json"]).stdout)
    here = json.loads(runner("realms", "list", "--json").stdout)
    assert [r["name"] for r in there] == ["admin", "default", "solo"]
    assert "solo" not in [r["name"] for r in here]
    assert json.loads((other / "secrets.json").read_text()) != json.loads((instance_path / "secrets.json").read_text())
