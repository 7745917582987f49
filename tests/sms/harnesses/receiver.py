"""An HTTP endpoint on loopback, in a thread, that an SMS provider's sender POSTs to: it keeps
what verifies with the ``standardwebhooks`` package and answers ``status`` with ``answer``
(after ``delay`` seconds)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


class SignedReceiver:
    def __init__(self, secret: str):
        self.verifier = Webhook(secret)
        self.kept: list[dict] = []
        self.rejected: list[dict] = []
        self.status, self.answer = 200, b'{"id": "sms-0001"}'
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict(self.headers.items())
                try:
                    receiver.verifier.verify(body, headers)
                except WebhookVerificationError:
                    receiver.rejected.append(headers)
                    return self._answer(401, b"bad signature")
                receiver.kept.append({"headers": headers, "payload": json.loads(body)})
                time.sleep(receiver.delay)
                self._answer(receiver.status, receiver.answer)

            def _answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
