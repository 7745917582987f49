"""A realm's webhooks: add (the signing secret is shown once), change, send a test event,
remove; each webhook's delivery log (status, response code, latency, attempts, next try) with
"Redeliver"."""
from __future__ import annotations

from flask import request

from ...webhooks import outbox
from ...webhooks.subscriptions import create_webhook, delete_webhook, get_webhook, list_webhooks, update_webhook
from .. import admin_bp
from ..console import apply_change, done, managed_realm, page_offset, render, requires
from ..forms import ButtonForm, WebhookForm

WEBHOOK_ID = "<int(max=2147483647):webhook_id>"
LOG_PAGE_SIZE = 50


def _event_types(text: str | None) -> list[str] | None:
    entries = [line.strip() for line in (text or "").replace(",", "\n").splitlines() if line.strip()]
    return entries or None


def _list_page(realm, form=None, status=200):
    return render("webhooks.html", status=status, realm=realm, webhooks=list_webhooks(realm),
                  form=form or WebhookForm(formdata=None), page_title=f"{realm.display_name}: webhooks")


def _webhook_page(realm, webhook, form=None, status=200):
    if form is None:
        form = WebhookForm(formdata=None, url=webhook.url, description=webhook.description or "",
                           event_types="\n".join(webhook.event_types or []), enabled=webhook.enabled)
    offset = page_offset()
    deliveries = outbox.list_deliveries(webhook, limit=LOG_PAGE_SIZE + 1, offset=offset)
    return render("webhook.html", status=status, realm=realm, webhook=webhook, form=form,
                  deliveries=deliveries[:LOG_PAGE_SIZE], offset=offset, page_size=LOG_PAGE_SIZE,
                  next_offset=offset + LOG_PAGE_SIZE if len(deliveries) > LOG_PAGE_SIZE else None,
                  button_form=ButtonForm(formdata=None), page_title=f"Webhook {webhook.id}")


@admin_bp.get("/realms/<realm_name>/webhooks")
def webhooks():
    return _list_page(managed_realm())


@admin_bp.post("/realms/<realm_name>/webhooks")
@requires("webhooks")
def create_webhook_view():
    realm = managed_realm()
    form = WebhookForm()
    created = {}

    def change():
        created["webhook"], created["secret"] = create_webhook(
            realm, url=form.url.data, event_types=_event_types(form.event_types.data),
            description=form.description.data, enabled=form.enabled.data)

    if form.validate() and apply_change(form, change):
        return render("webhook_secret.html", realm=realm, webhook=created["webhook"], secret=created["secret"],
                      page_title=f"Webhook {created['webhook'].id} added")
    return _list_page(realm, form, status=400)


@admin_bp.get(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}")
def webhook_details(webhook_id):
    realm = managed_realm()
    return _webhook_page(realm, get_webhook(realm, webhook_id))


@admin_bp.post(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}")
@requires("webhooks")
def update_webhook_view(webhook_id):
    realm = managed_realm()
    webhook = get_webhook(realm, webhook_id)
    form = WebhookForm()

    def change():
        update_webhook(webhook, url=form.url.data, event_types=_event_types(form.event_types.data),
                       description=form.description.data, enabled=form.enabled.data)

    if form.validate() and apply_change(form, change):
        return done("Webhook saved.", "admin.webhook_details", webhook_id=webhook_id)
    return _webhook_page(realm, get_webhook(realm, webhook_id), form, status=400)


@admin_bp.post(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}/test")
@requires("webhooks")
def test_webhook_view(webhook_id):
    realm = managed_realm()
    webhook = get_webhook(realm, webhook_id)
    form = ButtonForm()
    if apply_change(form, lambda: outbox.enqueue_test_event(webhook)):
        return done("Test event queued: it appears in the delivery log below once sent.", "admin.webhook_details",
                    webhook_id=webhook_id)
    return _webhook_page(realm, webhook, status=409)


@admin_bp.post(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}/deliveries/<int(max=2147483647):delivery_id>/redeliver")
@requires("webhooks")
def redeliver_view(webhook_id, delivery_id):
    realm = managed_realm()
    webhook = get_webhook(realm, webhook_id)
    delivery = outbox.get_delivery(webhook, delivery_id)
    form = ButtonForm()
    if apply_change(form, lambda: outbox.redeliver(delivery)):
        return done(f"Message {delivery.message_id} queued again.", "admin.webhook_details", webhook_id=webhook_id,
                    **({"offset": request.args["offset"]} if request.args.get("offset", "").isdigit() else {}))
    return _webhook_page(realm, webhook, status=409)


@admin_bp.post(f"/realms/<realm_name>/webhooks/{WEBHOOK_ID}/delete")
@requires("webhooks")
def delete_webhook_view(webhook_id):
    realm = managed_realm()
    webhook = get_webhook(realm, webhook_id)
    form = ButtonForm()
    if apply_change(form, lambda: delete_webhook(webhook)):
        return done(f"Webhook {webhook_id} removed.", "admin.webhooks")
    return _webhook_page(realm, webhook, status=409)
