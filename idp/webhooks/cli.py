"""``idp webhooks ...`` (a realm's webhooks) and ``idp worker`` (the delivery worker)."""
from __future__ import annotations

import json
import signal

import click

from ..events import EVENT_TYPES


def register(main, *, with_app, realm_option, realm_lookup, printer, commit):
    """``commit`` saves a command's changes or fails with a one-line error: each command commits
    before it says what it did."""

    @main.group()
    def webhooks():
        """Webhooks: events of a realm POSTed to a URL, signed per Standard Webhooks."""

    @webhooks.command("add")
    @realm_option
    @click.option("--url", required=True, help="Where to POST the events (https://).")
    @click.option("--event", "events", multiple=True, metavar="TYPE",
                  help="An event type (user.created) or family (mfa.*) it wants; repeatable. Default: all.")
    @click.option("--description", default=None)
    @click.option("--disabled", is_flag=True, help="Add it turned off.")
    @click.option("--json", "as_json", is_flag=True, help="Print the webhook and its one-time secret as JSON.")
    @with_app()
    def add(realm_name, url, events, description, disabled, as_json):
        """Add a webhook; its signing secret is printed only this once."""
        from .describe import webhook_json
        from .subscriptions import create_webhook

        webhook, secret = create_webhook(realm_lookup(realm_name), url=url, event_types=list(events) or None,
                                         description=description, enabled=not disabled)
        commit()
        if as_json:
            click.echo(json.dumps({**webhook_json(webhook), "secret": secret}, indent=2))
            return
        click.echo(secret)
        click.echo(f"webhook {webhook.id} added in realm '{realm_name}' for {url}. "
                   "The signing secret is shown only this once.", err=True)

    @webhooks.command("list")
    @realm_option
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def list_(realm_name, as_json):
        from .describe import webhook_json
        from .subscriptions import list_webhooks

        rows = [webhook_json(w) for w in list_webhooks(realm_lookup(realm_name))]
        if as_json:
            printer(rows, True)
            return
        for row in rows:
            wanted = ",".join(row["event_types"]) if row["event_types"] else "all events"
            click.echo(f"{row['id']}  {row['url']}  {'enabled' if row['enabled'] else 'disabled'}  {wanted}")

    @webhooks.command("show")
    @realm_option
    @click.argument("webhook_id", type=int)
    @click.option("--deliveries", "limit", default=10, show_default=True, help="How many recent deliveries.")
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def show(realm_name, webhook_id, limit, as_json):
        """The webhook and its most recent deliveries."""
        from .describe import delivery_json, webhook_json
        from .outbox import list_deliveries
        from .subscriptions import get_webhook

        webhook = get_webhook(realm_lookup(realm_name), webhook_id)
        deliveries = [delivery_json(d) for d in list_deliveries(webhook, limit=max(0, min(limit, 100)))]
        if as_json:
            printer({**webhook_json(webhook), "deliveries": deliveries}, True)
            return
        shown = webhook_json(webhook)
        shown["event_types"] = ", ".join(shown["event_types"]) if shown["event_types"] else "all events"
        printer(shown, False)
        click.echo("deliveries:")
        for d in deliveries:
            code = d["response_status"] if d["response_status"] is not None else "-"
            when = d["next_attempt_at"] or d["finished_at"] or ""
            click.echo(f"  {d['id']}  {d['event_type']}  {d['status']}  attempts={d['attempts']}  "
                       f"response={code}  {d['latency_ms'] if d['latency_ms'] is not None else '-'}ms  "
                       f"{'next try ' if d['next_attempt_at'] else ''}{when}  {d['error'] or ''}".rstrip())

    @webhooks.command("remove")
    @realm_option
    @click.argument("webhook_id", type=int)
    @with_app()
    def remove(realm_name, webhook_id):
        """Remove a webhook, its pending deliveries and its delivery log."""
        from .subscriptions import delete_webhook, get_webhook

        delete_webhook(get_webhook(realm_lookup(realm_name), webhook_id))
        commit()
        click.echo(f"removed webhook {webhook_id}")

    @webhooks.command("test")
    @realm_option
    @click.argument("webhook_id", type=int)
    @with_app()
    def test(realm_name, webhook_id):
        """Send a webhook.test event to this webhook now and print how the receiver answered."""
        from flask import current_app

        from .outbox import enqueue_test_event
        from .subscriptions import get_webhook
        from .worker import deliver_now

        webhook = get_webhook(realm_lookup(realm_name), webhook_id)
        delivery = enqueue_test_event(webhook)
        commit()
        delivery_id = delivery.id
        if not webhook.enabled:
            click.echo(f"queued test delivery {delivery_id}; the webhook is disabled, so it waits until it is enabled")
            return
        status = deliver_now(current_app._get_current_object(), delivery_id)
        from ..extensions import db
        from ..models import WebhookDelivery

        row = db.session.get(WebhookDelivery, delivery_id)
        if status is None:
            click.echo(f"queued test delivery {delivery_id} (a worker is sending it)")
            return
        code = row.response_status if row.response_status is not None else "no answer"
        message = f"test delivery {delivery_id}: {code} in {row.latency_ms} ms"
        if status == "succeeded":
            click.echo(message)
            return
        raise click.ClickException(f"{message}: {row.last_error}; retried at {row.next_attempt_at}"
                                   if row.next_attempt_at else f"{message}: {row.last_error}")

    @webhooks.command("event-types")
    def event_types():
        """The event types a webhook can subscribe to."""
        for name, meaning in EVENT_TYPES.items():
            click.echo(f"{name}  {meaning}")

    @main.command()
    @click.option("--concurrency", type=int, default=None, help="Deliveries sent at the same time "
                  "(default webhooks.worker_concurrency).")
    @click.option("--once", is_flag=True, help="Send what is due now, then exit (for cron or a test).")
    @click.pass_obj
    def worker(state, concurrency, once):
        """Deliver webhooks: claims due deliveries and sends them, retrying with back-off. Run one or
        more next to the web servers (several may share one PostgreSQL). Stops on SIGTERM/SIGINT
        after the deliveries in flight."""
        from ..cli import _ensure_ready
        from .worker import DeliveryWorker

        app = state.app
        with app.app_context():
            _ensure_ready()
        delivery_worker = DeliveryWorker(app, concurrency=concurrency)
        if once:
            total = 0
            while (sent := delivery_worker.run_once()):
                total += sent
            click.echo(f"attempted {total} deliveries")
            return

        def stop(signum, frame):
            delivery_worker.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        click.echo(f"idp worker delivering webhooks (concurrency {delivery_worker.concurrency})", err=True)
        delivery_worker.run()
