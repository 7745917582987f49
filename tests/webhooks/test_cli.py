"""`idp webhooks add|list|show|test|remove` as an operator uses them."""
from __future__ import annotations

import json

import pytest

from .conftest import WEBHOOK_ENVIRONMENT


@pytest.fixture
def idp(runner, monkeypatch, factory):
    for name, value in WEBHOOK_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    factory.realm("acme")

    def run(*args, ok=True):
        result = runner(*args)
        assert (result.exit_code == 0) == ok, result.output
        return result
    return run


def test_operator_adds_a_webhook_tests_it_reads_the_log_and_removes_it(idp, receiver):
    hooks = receiver()
    added = json.loads(idp("webhooks", "add", "--realm", "acme", "--url", f"{hooks.url}/in",
                           "--event", "user.*", "--event", "webhook.test", "--description", "CRM", "--json").stdout)
    hooks.start(added["secret"])
    assert added["event_types"] == ["user.*", "webhook.test"]

    listed = idp("webhooks", "list", "--realm", "acme").stdout
    assert f"{added['id']}  {hooks.url}/in  enabled  user.*,webhook.test" in listed

    tested = idp("webhooks", "test", "--realm", "acme", str(added["id"])).stdout
    assert tested.startswith("test delivery ") and ": 204 in " in tested
    assert [m["type"] for m in hooks.kept()] == ["webhook.test"]

    shown = idp("webhooks", "show", "--realm", "acme", str(added["id"])).stdout
    assert "description: CRM" in shown and "webhook.test  succeeded  attempts=1  response=204" in shown

    assert idp("webhooks", "remove", "--realm", "acme", str(added["id"])).stdout.strip() == \
        f"removed webhook {added['id']}"
    assert idp("webhooks", "list", "--realm", "acme").stdout == ""


def test_a_test_to_a_receiver_that_is_down_fails_with_the_reason_and_is_retried_later(idp, receiver):
    hooks = receiver()
    added = json.loads(idp("webhooks", "add", "--realm", "acme", "--url", f"{hooks.url}/in", "--json").stdout)

    result = idp("webhooks", "test", "--realm", "acme", str(added["id"]), ok=False)

    assert "no answer" in result.output and "Connection refused" in result.output and "retried at" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (("--url", "https://hooks.example.com/", "--event", "user.nonsense"), "unknown event type 'user.nonsense'"),
    (("--url", "gopher://hooks.example.com/"), "must start with https://"),
])
def test_a_webhook_that_is_not_valid_is_refused_in_one_line(idp, args, message):
    result = idp("webhooks", "add", "--realm", "acme", *args, ok=False)

    assert message in result.output
    assert idp("webhooks", "list", "--realm", "acme").stdout == ""


def test_an_unknown_webhook_is_a_one_line_error(idp):
    assert "there is no webhook 99 in realm 'acme'" in idp("webhooks", "show", "--realm", "acme", "99", ok=False).output


def test_the_worker_sends_what_is_due_and_exits_with_once(idp, receiver):
    hooks = receiver()
    added = json.loads(idp("webhooks", "add", "--realm", "acme", "--url", f"{hooks.url}/in", "--json").stdout)
    hooks.start(added["secret"])

    assert idp("worker", "--once").stdout.strip() == "attempted 1 deliveries"
    assert [m["type"] for m in hooks.kept()] == ["webhook.created"]
