"""What a delivery may reach and how long it may take: the rules hold at the moment of the
request, whatever the URL looked like when it was saved."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from idp.webhooks.targets import post

from .conftest import WEBHOOK_SETTINGS


def settings(**overrides):
    values = {**WEBHOOK_SETTINGS, "max_response_bytes": 65536, **overrides}
    return SimpleNamespace(**values)


@pytest.fixture
def local_server():
    """A loopback server whose answer the test chooses: ``behave(handler)`` runs for each POST."""
    state = {"behave": None, "requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state["requests"] += 1
            try:
                state["behave"](self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first (the time-limit story)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def use(behave):
        state["behave"] = behave
        return url

    use.state = state
    yield use
    server.shutdown()


def _answer(status, body=b"", headers=()):
    def behave(handler):
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return behave


def test_loopback_is_refused_at_delivery_unless_the_operator_allows_private_targets(local_server):
    url = local_server(_answer(204)).replace("127.0.0.1", "localhost")

    refused = post(url + "/hook", b"{}", {}, settings=settings(allow_private_targets=False))
    allowed = post(url + "/hook", b"{}", {}, settings=settings())

    assert refused.status is None and "non-public address" in refused.error
    assert local_server.state["requests"] == 1
    assert allowed.succeeded


def test_http_is_refused_at_delivery_when_the_operator_turned_it_off_after_the_webhook_was_saved(local_server):
    answer = post(local_server(_answer(204)), b"{}", {}, settings=settings(allow_http=False))

    assert "http://" in answer.error and local_server.state["requests"] == 0


def test_a_redirect_is_not_followed_and_counts_as_a_failed_delivery(local_server):
    url = local_server(_answer(302, headers=[("Location", "http://169.254.169.254/latest/meta-data")]))

    answer = post(url, b"{}", {}, settings=settings())

    assert not answer.succeeded and answer.status == 302 and answer.error == "redirects are not followed"
    assert local_server.state["requests"] == 1


def test_only_the_first_bytes_of_a_huge_answer_are_read(local_server):
    url = local_server(_answer(200, b"x" * 5_000_000))

    started = time.monotonic()
    answer = post(url, b"{}", {}, settings=settings(max_response_bytes=1024))

    assert answer.succeeded and len(answer.excerpt) == 300
    assert time.monotonic() - started < 5


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_delivery(local_server):
    def slow(handler):
        time.sleep(3)
        _answer(204)(handler)

    answer = post(local_server(slow), b"{}", {}, settings=settings(timeout_seconds=1))

    assert not answer.succeeded and answer.status is None and "timed out" in answer.error.lower()
    assert answer.latency_ms < 2900


def test_a_name_that_does_not_resolve_is_a_failed_delivery():
    answer = post("https://no-such-host.invalid/hook", b"{}", {}, settings=settings())

    assert not answer.succeeded and "cannot resolve" in answer.error


@pytest.mark.parametrize("address, allowed", [
    ("::ffff:127.0.0.1", False),                           # IPv4-mapped loopback
    ("::7f00:1", False),                                   # IPv4-compatible loopback (deprecated form)
    ("2002:7f00:1::1", False),                             # 6to4 of 127.0.0.1
    ("64:ff9b::a00:1", False),                             # NAT64 of 10.0.0.1
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),       # Teredo, client 127.0.0.1
    ("64:ff9b::808:808", True),                            # NAT64 of a public address
    ("2606:4700:4700::1111", True),
])
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_judged_by_it(address, allowed):
    import ipaddress

    from idp.outbound import address_allowed

    assert address_allowed(ipaddress.ip_address(address), allow_private=False) is allowed
