"""The outbox writes to a file of the instance folder; it fails when that path cannot be written."""
from __future__ import annotations

import json
from pathlib import Path


class Harness:
    settings: dict = {}
    secret = None

    def __init__(self, folder: Path):
        self.folder = folder

    def values(self) -> dict:
        return {}

    def install(self, app):
        self.path = Path(app.instance_path) / app.extensions["idp.settings"].sms.outbox_file

    def received(self) -> list[tuple[str, str]]:
        if not self.path.exists():
            return []
        return [(line["to"], line["body"]) for line in map(json.loads, self.path.read_text().splitlines())]

    def break_sending(self):
        self.path.unlink(missing_ok=True)
        self.path.mkdir(parents=True)

    def close(self):
        pass
