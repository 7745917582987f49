"""Delivering mail off the request path.

Every mail is composed where it is decided (in the request, with the realm's theme) and sent by
a small pool of background threads, so a slow SMTP server never holds a page, and the password
reset request can answer in the same time whether or not the account exists (see
``idp.lifecycle.reset``). A mail that cannot be sent is logged (never its credentials) and not
retried; mail queued in a process that is killed is lost, which is acceptable for these
messages (the user can ask again).

``deliver_after_commit`` ties a mail to the database transaction that caused it: security
notifications are composed when the audit event is recorded and sent only once that work
commits."""
from __future__ import annotations

import concurrent.futures
import os
import threading

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from . import MailMessage, MailSendError, mail_sender

_POOL_SIZE = 2
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()
_PENDING = "idp.mail_after_commit"


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    """One pool per process, made again after a fork (gunicorn workers do not inherit threads)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="idp-mail")
            _pool_pid = os.getpid()
        return _pool


class _Jobs:
    """The unfinished background jobs of one app, so a CLI command or a test can wait for them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.futures: set[concurrent.futures.Future] = set()

    def add(self, future):
        with self.lock:
            self.futures.add(future)
        future.add_done_callback(self.discard)

    def discard(self, future):
        with self.lock:
            self.futures.discard(future)

    def pending(self) -> list:
        with self.lock:
            return list(self.futures)


def _jobs(app) -> _Jobs:
    return app.extensions.setdefault("idp.background_jobs", _Jobs())


def run_in_background(fn, *args, **kwargs) -> concurrent.futures.Future:
    """Run ``fn`` in a background thread inside its own app context (and so its own database
    session). Exceptions are logged."""
    return _submit(current_app._get_current_object(), fn, *args, **kwargs)


def _submit(app, fn, *args, **kwargs) -> concurrent.futures.Future:
    def job():
        with app.app_context():
            try:
                fn(*args, **kwargs)
            except MailSendError as exc:
                app.logger.warning("mail not sent: %s", exc)
            except Exception:  # a background job has nobody else to report to
                app.logger.exception("background job %s failed", getattr(fn, "__name__", fn))

    future = _executor().submit(job)
    _jobs(app).add(future)
    return future


def deliver_now(message: MailMessage) -> None:
    """Send ``message`` with the configured sender (raises ``MailSendError``)."""
    app = current_app._get_current_object()
    mail_sender(app).send(message, from_address=app.extensions["idp.settings"].mail.from_address)


def deliver_later(message: MailMessage) -> concurrent.futures.Future:
    return run_in_background(deliver_now, message)


def wait_for_deliveries(app=None, timeout: float = 30) -> None:
    """Block until the app's background jobs are done (the CLI before it exits; tests)."""
    import time

    app = app or current_app._get_current_object()
    deadline = time.monotonic() + timeout
    while (pending := _jobs(app).pending()) and time.monotonic() < deadline:
        concurrent.futures.wait(pending, timeout=max(0.0, deadline - time.monotonic()))


def deliver_after_commit(message: MailMessage) -> None:
    """Send ``message`` once the work that caused it commits."""
    compose_and_deliver_after_commit(lambda: message)


def compose_and_deliver_after_commit(compose_message, *args) -> None:
    """Once the work commits, call ``compose_message(*args)`` in a background job (its own app
    context and database session) and send what it returns, unless that is None. Composing
    off the request keeps a request that causes a mail as fast as one that does not (a notice
    must not tell an attacker that an account exists)."""
    from ..extensions import db

    session = db.session()
    session.info.setdefault(_PENDING, []).append((current_app._get_current_object(), compose_message, args))


def _after_commit(session) -> None:
    for app, compose_message, args in session.info.pop(_PENDING, []):
        _submit(app, _deliver_in, app, compose_message, args)


def _deliver_in(app, compose_message, args) -> None:
    message = compose_message(*args)
    if message is not None:
        mail_sender(app).send(message, from_address=app.extensions["idp.settings"].mail.from_address)


def _after_transaction_end(session, transaction) -> None:
    """Work rolled back (or a session closed without committing): its mail is dropped."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


_listening = False


def listen_for_commits() -> None:
    global _listening
    if not _listening:
        sa.event.listen(Session, "after_commit", _after_commit)
        sa.event.listen(Session, "after_transaction_end", _after_transaction_end)
        _listening = True
