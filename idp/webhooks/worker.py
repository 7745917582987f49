"""The delivery worker: claims due outbox rows and sends them, signed per Standard Webhooks.

Why a claim loop of our own rather than procrastinate or dramatiq: the outbox row has to be
written in the transaction of the change that caused the event, by the same SQLAlchemy session.
Dramatiq's brokers (Redis, RabbitMQ) sit outside that transaction, so a crash between the commit
and the enqueue loses the event (or sends one for a change that rolled back). Procrastinate's
jobs live in PostgreSQL but are deferred through its own psycopg connector, not our session's
transaction; it does not run on SQLite, the embedded default, at all; and each job would still
need our row for the delivery log (status, attempts, next try, redeliver). The loop needed on
top of our own table is short: one ``UPDATE`` that leases due rows (``SELECT ... FOR UPDATE
SKIP LOCKED`` on PostgreSQL, so several ``idp worker`` processes never take the same row; on
SQLite the database's single writer serialises the claims), the HTTP request outside any
transaction, and one ``UPDATE`` of the outcome guarded by the lease's token.

At-least-once, made exactly-once by the receiver: a worker killed after the receiver got a
message but before it recorded the outcome leaves a lease that runs out, and the message is
sent again with the same ``webhook-id``; receivers de-duplicate by it (the spec asks them to).

Retries: a failed attempt is retried after ``first_retry_seconds``, doubling each time (with up
to 10% jitter, capped at ``max_retry_interval_seconds``), until ``retry_window_hours`` after the
delivery was queued; then it is ``failed``. Every delivery gets at least one attempt, however
late a worker starts."""
from __future__ import annotations

import datetime as dt
import random
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from standardwebhooks import Webhook as StandardWebhook

from ..extensions import db
from ..models import Webhook, WebhookDelivery, utcnow
from .subscriptions import signing_secret
from .targets import post

BATCH_SIZE = 20
USER_AGENT = "idp-webhooks/1"


def lease_duration(settings) -> dt.timedelta:
    """Longer than one attempt can take, so a live worker's lease never runs out under it."""
    return dt.timedelta(seconds=2 * settings.timeout_seconds + 5)


def claim_due(settings, *, limit: int = BATCH_SIZE, delivery_id: int | None = None) -> list[tuple[int, str]]:
    """Lease up to ``limit`` due deliveries of enabled webhooks; their ids and the lease's token.
    Commits, so the lease holds while the requests run outside any transaction."""
    now = utcnow()
    token = secrets.token_hex(16)
    due = (sa.select(WebhookDelivery.id)
           .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
           .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                  Webhook.enabled.is_(True),
                  sa.or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now)))
    if delivery_id is not None:
        due = due.where(WebhookDelivery.id == delivery_id)
    due = due.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(of=WebhookDelivery, skip_locked=True)
    try:
        ids = list(db.session.scalars(due))
        if not ids:
            db.session.rollback()
            return []
        # The conditions again: on SQLite another worker may have leased a row since the select.
        db.session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending",
                   sa.or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now))
            .values(locked_until=now + lease_duration(settings), claim_token=token)
            .execution_options(synchronize_session=False))
        claimed = list(db.session.scalars(sa.select(WebhookDelivery.id).where(
            WebhookDelivery.id.in_(ids), WebhookDelivery.claim_token == token)))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return [(delivery_id, token) for delivery_id in claimed]


def signed_headers(delivery: WebhookDelivery, secret: str, now: dt.datetime) -> dict:
    signature = StandardWebhook(secret).sign(msg_id=delivery.message_id, timestamp=now, data=delivery.payload)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def next_retry_delay(settings, attempts: int) -> dt.timedelta:
    seconds = min(settings.first_retry_seconds * 2 ** max(attempts - 1, 0), settings.max_retry_interval_seconds)
    return dt.timedelta(seconds=seconds * (1 + random.random() / 10))


def attempt(delivery_id: int, token: str, settings) -> str | None:
    """Send one leased delivery and record the outcome; its new status (None if the lease was
    lost meanwhile, when another worker's outcome stands)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.claim_token != token:
        db.session.rollback()
        return None
    webhook = delivery.webhook
    now = utcnow()
    url, body = webhook.url, delivery.payload.encode()
    try:
        headers = signed_headers(delivery, signing_secret(webhook), now)
    except ValueError as exc:  # the secret cannot be decrypted with this instance's key
        headers, answer = None, None
        error = str(exc)
    db.session.rollback()  # no transaction stays open during the request
    if headers is not None:
        answer = post(url, body, headers, settings=settings)
        error = answer.error
    attempts = (delivery.attempts or 0) + 1
    finished = utcnow()
    values = {"attempts": attempts, "last_attempt_at": now, "locked_until": None, "claim_token": None,
              "response_status": answer.status if answer else None,
              "latency_ms": answer.latency_ms if answer else None,
              "last_error": (error or None) and error[:300]}
    if answer is not None and answer.succeeded:
        values.update(status="succeeded", next_attempt_at=None, finished_at=finished)
    else:
        retry_at = finished + next_retry_delay(settings, attempts)
        if retry_at > delivery.created_at + dt.timedelta(hours=settings.retry_window_hours):
            values.update(status="failed", next_attempt_at=None, finished_at=finished)
        else:
            values.update(status="pending", next_attempt_at=retry_at)
    updated = db.session.execute(
        sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.claim_token == token)
        .values(**values).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return values["status"] if updated else None


class DeliveryWorker:
    """Claims and sends deliveries until ``stop`` is set: ``idp worker``, or the thread
    ``idp serve``/``idp demo`` start on SQLite. Several may run against one PostgreSQL."""

    def __init__(self, app, *, concurrency: int | None = None):
        self.app = app
        self.settings = app.extensions["idp.settings"].webhooks
        self.concurrency = max(1, concurrency or self.settings.worker_concurrency)
        self.stop = threading.Event()

    def _attempt_in_context(self, claim) -> str | None:
        with self.app.app_context():
            try:
                return attempt(*claim, self.settings)
            except Exception:
                db.session.rollback()
                self.app.logger.exception("webhook delivery %s: attempt failed; its lease will run out", claim[0])
                return None
            finally:
                db.session.remove()

    def run_once(self, executor=None) -> int:
        """Claim one batch and send it; the number of deliveries attempted."""
        with self.app.app_context():
            try:
                claims = claim_due(self.settings, limit=max(BATCH_SIZE, self.concurrency))
            finally:
                db.session.remove()
        if not claims:
            return 0
        if executor is None:
            for claim in claims:
                self._attempt_in_context(claim)
        else:
            list(executor.map(self._attempt_in_context, claims))
        return len(claims)

    def run(self) -> None:
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="idp-webhook") as executor:
            while not self.stop.is_set():
                try:
                    busy = self.run_once(executor)
                except Exception:  # the database went away: log, wait, look again
                    self.app.logger.exception("webhook worker: claiming deliveries failed")
                    busy = 0
                if not busy:
                    self.stop.wait(self.settings.worker_poll_seconds)


def start_in_process_worker(app) -> DeliveryWorker:
    """A daemon thread delivering for this server (the embedded SQLite default: one process)."""
    worker = DeliveryWorker(app)
    thread = threading.Thread(target=worker.run, name="idp-webhook-worker", daemon=True)
    thread.start()
    worker.thread = thread
    return worker


def deliver_now(app, delivery_id: int) -> str | None:
    """Claim and send this delivery at once (``idp webhooks test``); its status, or None when
    it is not due or a worker holds it."""
    settings = app.extensions["idp.settings"].webhooks
    claims = claim_due(settings, limit=1, delivery_id=delivery_id)
    return attempt(*claims[0], settings) if claims else None
