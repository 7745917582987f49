"""Development sender: appends JSON lines {"to","subject","text","html","sent_at"} to a file
in the instance folder (``[mail] outbox_file``)."""
from __future__ import annotations

import datetime as dt
import fcntl
import json
from pathlib import Path


class OutboxMailSender:
    def __init__(self, path: Path):
        self.path = Path(path)

    def send(self, message, *, from_address: str) -> None:
        record = {
            "to": message.to,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "sent_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(json.dumps(record) + "\n")
