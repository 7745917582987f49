"""A lane's answer: a status, a header list and a JSON body, served straight to WSGI.

A Werkzeug ``Response`` checks every header it is given and builds its header list again when
served: for a token answer's dozen constant headers that was an eighth of a lane's request
(issue 17's profile). The headers here are the server's own constants and Authlib's, so they
are taken as they are."""
from __future__ import annotations

import json

from werkzeug.http import HTTP_STATUS_CODES


class ExpressAnswer:
    __slots__ = ("status_code", "headers", "body", "repeatable")

    def __init__(self, status_code: int, body: bytes, headers: list[tuple[str, str]]):
        self.status_code = status_code
        self.body = body
        self.headers = headers
        #: What ``prepared.PreparedAnswers.keep`` needs to answer the same request again, when a
        #: lane gives it (a granted plain client_credentials request), else None.
        self.repeatable: dict | None = None

    @classmethod
    def json(cls, status_code: int, payload, headers=()) -> ExpressAnswer:
        """``payload`` (a dict, or a JSON text as Authlib gives it) with ``headers``; a
        ``Content-Type`` of JSON unless ``headers`` has one."""
        body = payload if isinstance(payload, str) else json.dumps(payload)
        headers = [(str(name), str(value)) for name, value in headers]
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return cls(status_code, body.encode(), headers)

    def header_names(self) -> set[str]:
        return {name.lower() for name, _ in self.headers}

    def add_headers(self, headers) -> None:
        self.headers.extend(headers)

    def __call__(self, environ, start_response):
        reason = HTTP_STATUS_CODES.get(self.status_code, "unknown").upper()  # as Werkzeug's
        start_response(f"{self.status_code} {reason}",
                       [*self.headers, ("Content-Length", str(len(self.body)))])
        return [self.body]
