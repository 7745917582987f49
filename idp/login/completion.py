"""Account changes that wait until the whole login has succeeded.

A stage, or an upstream login, may learn something that should change the account: link this
upstream identity, note that it was used. Doing it at once would let someone who passes one
stage and abandons the next (a stolen password, then the MFA page left alone) change the
account anyway. So the change is written into the transaction (``defer_until_login_succeeds``)
and applied by ``apply_deferred_changes``, which the end of every login calls in the same
database transaction that claims its completion. A login that never completes changes nothing.

Each kind of change has a handler registered by the package that owns it, from ``create_app``
(``register_deferred_change("link_identity", handler)``); the login package knows none of them.
The changes live in the persisted transaction, so any worker can finish the login.

A package may also need to know when the password stage accepted someone, to decide what the
rest of the login must do (``register_after_password``: social login turns a waiting link
request into a deferred change, and asks for the account's second factor)."""
from __future__ import annotations

from typing import Callable

from flask import current_app

from .transaction import update_stage_state

_STATE_KEY = "on_success"


def register_deferred_change(app, kind: str, handler: Callable) -> None:
    """``handler(txn, **data)`` applies one change of ``kind``; the caller commits."""
    app.extensions.setdefault("idp.deferred_changes", {})[kind] = handler


def register_after_password(app, handler: Callable) -> None:
    """``handler(txn, user)`` runs when the password stage has accepted ``user``. It may change
    the login (``txn``) and nothing else: that step's commit does not wait for the disk
    (``flow.advance(progress_only=True)``); an account's change waits for the login's success
    (``defer_until_login_succeeds``)."""
    app.extensions.setdefault("idp.after_password", []).append(handler)


def after_password(txn, user) -> None:
    for handler in current_app.extensions.get("idp.after_password", []):
        handler(txn, user)


def defer_until_login_succeeds(txn, kind: str, **data) -> None:
    """Record a change to apply once ``txn`` has completed. One change per kind: a later one
    replaces an earlier one (the person linked a different upstream account meanwhile)."""
    pending = [change for change in (txn.stage_state or {}).get(_STATE_KEY) or [] if change["kind"] != kind]
    pending.append({"kind": kind, **data})
    update_stage_state(txn, **{_STATE_KEY: pending})


def apply_deferred_changes(txn) -> None:
    """Apply what the login deferred; called after ``claim_completion`` succeeded."""
    handlers = current_app.extensions.get("idp.deferred_changes", {})
    for change in (txn.stage_state or {}).get(_STATE_KEY) or []:
        data = {key: value for key, value in change.items() if key != "kind"}
        handlers[change["kind"]](txn, **data)
