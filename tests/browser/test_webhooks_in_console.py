"""An owner adds a webhook in the console, copies its secret into their app's receiver (a real
process that verifies signatures with the ``standardwebhooks`` package), sends a test event,
watches it arrive in the delivery log, and redelivers it; the receiver recognises the same
message by its webhook-id."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from idp.demo import DEMO_REALM

from ..webhooks.conftest import WEBHOOK_SETTINGS, Receiver, wait_until
from .console import create_console_owner, log_in_to_console, open_realm_page

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(make_demo_server):
    from idp.webhooks.worker import start_in_process_worker

    server = make_demo_server(webhooks=dict(WEBHOOK_SETTINGS))
    worker = start_in_process_worker(server.app)  # what `idp demo` does on SQLite
    yield server
    worker.stop.set()
    worker.thread.join(timeout=10)


@pytest.fixture
def hooks(tmp_path):
    folder = tmp_path / "receiver"
    folder.mkdir()
    receiver = Receiver(folder)
    yield receiver
    receiver.stop()


def log_rows(page):
    return page.get_by_role("table", name="Deliveries, newest first").get_by_role("row")


def test_owner_adds_a_webhook_sends_a_test_event_and_redelivers_it_from_the_delivery_log(
        demo, page, hooks, screenshot):
    owner = create_console_owner(demo)
    log_in_to_console(page, demo, owner)
    open_realm_page(page, DEMO_REALM, "Webhooks")
    expect(page.get_by_text("This realm has no webhooks.")).to_be_visible()

    page.get_by_label("Endpoint URL").fill(f"{hooks.url}/idp-events")
    page.get_by_label("Event types").fill("user.*\nwebhook.test")
    page.get_by_label("Description").fill("CRM sync")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("heading", name="Webhook 1 added")).to_be_visible()
    secret = page.locator("#webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    hooks.start(secret)
    page.get_by_role("link", name="I have copied the secret").click()
    expect(page.get_by_text("Nothing has been sent to this webhook yet.")).to_be_visible()

    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_role("status").filter(has_text="Test event queued")).to_be_visible()
    wait_until(lambda: hooks.kept(), timeout=15, message="the test event at the receiver")
    page.reload()
    [header, row] = log_rows(page).all()
    expect(row.get_by_role("rowheader")).to_have_text("webhook.test")
    expect(row.get_by_role("cell").nth(1)).to_have_text("Succeeded")
    expect(row.get_by_role("cell").nth(2)).to_have_text("204")
    expect(row.get_by_role("cell").nth(3)).to_have_text(re.compile(r"\d+ ms"))
    screenshot(page, "console-webhook-delivery-log", fits_width=False)

    [message] = hooks.kept()
    assert message["type"] == "webhook.test" and message["path"] == "/idp-events"
    row.get_by_role("button", name="Redeliver").click()
    expect(page.get_by_role("status").filter(has_text=f"Message {message['id']} queued again.")).to_be_visible()

    wait_until(lambda: hooks.duplicates(), timeout=15, message="the redelivery at the receiver")
    page.reload()
    rows = log_rows(page).all()[1:]
    assert len(rows) == 2
    expect(rows[0].get_by_role("cell").nth(0)).to_contain_text("(redelivery)")
    for row in rows:
        expect(row.get_by_role("cell").nth(1)).to_have_text("Succeeded")
    assert [m["id"] for m in hooks.duplicates()] == [message["id"]] and len(hooks.kept()) == 1
    screenshot(page, "console-webhook-redelivered")
