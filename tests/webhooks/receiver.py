"""A webhook receiver as an app's back end would write one, run as its own process on loopback:
``python receiver.py PORT SECRET STATE_DIR``.

Each POST is verified with the ``standardwebhooks`` package (a bad signature is a 401). A
message is kept once per ``webhook-id``: the first time it is appended to ``kept.jsonl`` (and
flushed to disk before the 204), a second time it is counted in ``duplicates.jsonl`` and
answered 204 again, as the spec asks. Every id kept is on disk before it is acknowledged, so a
receiver killed and started again still knows what it has. ``rejected.jsonl`` lists requests
whose signature did not verify. ``--fail-first N`` answers 503 to the first N requests (a
receiver having a bad moment)."""
from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


def main(argv):
    port, secrets, folder = int(argv[1]), argv[2].split(","), argv[3]
    fail_first = int(argv[5]) if len(argv) > 5 and argv[4] == "--fail-first" else 0
    os.makedirs(folder, exist_ok=True)
    kept_path = os.path.join(folder, "kept.jsonl")
    kept_ids = set()
    if os.path.exists(kept_path):
        with open(kept_path) as fh:
            kept_ids = {json.loads(line)["id"] for line in fh if line.strip()}
    lock = threading.Lock()
    verifiers = [Webhook(secret) for secret in secrets]
    state = {"failures_left": fail_first}

    def append(name, record):
        with open(os.path.join(folder, name), "a") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self, status, body=b""):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k: v for k, v in self.headers.items()}
            with lock:
                if state["failures_left"] > 0:
                    state["failures_left"] -= 1
                    return self._answer(503, b"try again later")
            payload = None
            for number, verifier in enumerate(verifiers):
                try:
                    payload = verifier.verify(body, headers)
                    break
                except WebhookVerificationError:
                    continue
            if payload is None:
                append("rejected.jsonl", {"id": headers.get("webhook-id"), "path": self.path})
                return self._answer(401, b"bad signature")
            message_id = headers["webhook-id"]
            with lock:
                record = {"id": message_id, "type": payload["type"], "secret": number, "path": self.path,
                          "payload": payload}
                if message_id in kept_ids:
                    append("duplicates.jsonl", record)
                else:
                    append("kept.jsonl", record)
                    kept_ids.add(message_id)
            self._answer(204)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
