"""How a finished login is handed back to whatever started it.

The login package authenticates; it does not speak OAuth. A login is started for a purpose
(an authorization request at ``/authorize``, a device waiting for approval, the direct-API
login), and the layer that owns that purpose registers a ``LoginAnswer`` for it
(``register_answer``). When every stage is done, ``idp.login.flow.finish`` builds a
``LoginResult`` and the answer turns it into the response the original request expects: a
redirect with a code, a "your device is connected" page, a token response. A login that the
user refuses (consent denied) is answered through the same object.

A login with no purpose of this kind (our own account pages and console) returns the browser
to the page that asked for it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from flask import current_app

_KEY = "idp.login_answers"

#: Purposes: an authorization request (the default for a login that has a client).
AUTHORIZATION = "authorization"


@dataclass(frozen=True)
class LoginResult:
    """Who logged in and how: what the protocol layer records in codes, tokens and ID tokens.
    ``sid`` is the browser session's id (None for a login without a browser session)."""

    user: object
    amr: list[str] = field(default_factory=list)
    acr: str | None = None
    auth_time: int | None = None
    sid: str | None = None


class LoginAnswer(Protocol):
    def complete(self, txn, result: LoginResult):
        """The response to the request that started ``txn``, now that the login succeeded."""

    def deny(self, txn, reason: str):
        """The response when the user refused (``reason`` is ``access_denied``)."""


def register_answer(app, purpose: str, answer: LoginAnswer) -> None:
    app.extensions.setdefault(_KEY, {})[purpose] = answer


def purpose_of(txn) -> str | None:
    """The purpose a transaction was started for; None for our own pages (no client)."""
    purpose = (txn.stage_state or {}).get("purpose")
    if purpose:
        return purpose
    return AUTHORIZATION if txn.client_id else None


def answer_for(txn) -> LoginAnswer:
    purpose = purpose_of(txn)
    answers = current_app.extensions.get(_KEY, {})
    if purpose not in answers:
        raise LookupError(f"no answer is registered for logins started for '{purpose}'")
    return answers[purpose]
