"""Development sender: appends JSON lines {"to","body","sent_at"} to a file in the instance folder."""
from __future__ import annotations

import datetime as dt
import fcntl
import json
from pathlib import Path

from .. import SmsSendError


class OutboxSender:
    def __init__(self, path: Path):
        self.path = Path(path)

    def send(self, to: str, body: str) -> str:
        record = {"to": to, "body": body, "sent_at": dt.datetime.now(dt.timezone.utc).isoformat()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                fh.write(json.dumps(record) + "\n")
        except OSError as error:
            raise SmsSendError(f"the SMS outbox file cannot be written ({error.strerror or type(error).__name__})") from None
        return "outbox"
