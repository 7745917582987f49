"""Where a webhook may point, and the one HTTP request of a delivery.

A webhook URL is operator input, checked at each delivery by the rules every outbound request
follows (``idp.outbound``: resolved once, every address allowed, connected to the checked
address). Non-public addresses (loopback, private, link-local, shared, reserved, multicast) are
refused unless ``webhooks.allow_private_targets`` is on; ``http://`` unless
``webhooks.allow_http`` is.

The request: no redirects followed (a 3xx is a failed delivery: a redirect could lead anywhere),
a time limit on the whole exchange, and at most ``max_response_bytes`` of the answer read."""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit


from ..outbound import TargetRefused, address_allowed, connection_pool, resolve_target
from ..outbound import literal_address as _literal_address
from ..services import ServiceError

MAX_URL_LENGTH = 2000


@dataclass
class Answer:
    status: int | None
    latency_ms: int
    error: str | None = None
    excerpt: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def check_webhook_url(url, *, allow_private: bool, allow_http: bool) -> str:
    """The URL, if a webhook may be saved with it: absolute http(s), no credentials in it, no
    fragment; a literal address or ``localhost`` only when private targets are allowed.
    Names are resolved at delivery, not here (they may not resolve yet)."""
    if not isinstance(url, str) or not url.strip():
        raise ServiceError("a webhook needs a URL", field="url")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH or any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise ServiceError(f"the URL must be at most {MAX_URL_LENGTH} characters, without spaces", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ServiceError("that is not a valid URL", field="url") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ServiceError("the URL must start with https://", field="url")
    if parts.scheme == "http" and not allow_http:
        raise ServiceError("the URL must use https:// (webhooks.allow_http is off)", field="url")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ServiceError("the URL may not contain credentials or a #fragment", field="url")
    if port == 0:
        raise ServiceError("that is not a valid URL", field="url")
    host = parts.hostname.rstrip(".").lower()
    if not allow_private:
        if host == "localhost" or host.endswith(".localhost"):
            raise ServiceError("the URL points at this machine (webhooks.allow_private_targets is off)", field="url")
        literal = _literal_address(host)
        if literal is not None and not address_allowed(literal, allow_private=False):
            raise ServiceError(f"the URL points at a non-public address ({literal}); "
                               "webhooks.allow_private_targets is off", field="url")
    return url


def post(url: str, body: bytes, headers: dict, *, settings) -> Answer:
    """POST ``body`` to ``url`` under the rules above; never raises for the receiver's faults."""
    started = time.monotonic()

    def answer(status=None, error=None, excerpt=""):
        return Answer(status, int((time.monotonic() - started) * 1000), error, excerpt)

    parts = urlsplit(url)
    if parts.scheme == "http" and not settings.allow_http:
        return answer(error="refused: http:// URLs are not allowed (webhooks.allow_http is off)")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = resolve_target(host, port, allow_private=settings.allow_private_targets)
    except TargetRefused as exc:
        return answer(error=f"refused: {exc}")
    import urllib3  # where a delivery is made: the worker that serves pages never loads it

    pool = connection_pool(url, address, settings.timeout_seconds)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rpartition("@")[2]
    deadline = started + settings.timeout_seconds
    try:
        response = pool.urlopen("POST", path, body=body, headers={**headers, "Host": host_header},
                                redirect=False, retries=False, preload_content=False, assert_same_host=False)
        try:
            received = b""
            while len(received) < settings.max_response_bytes:
                chunk = response.read(min(8192, settings.max_response_bytes - len(received)))
                if not chunk:
                    break
                received += chunk
                if time.monotonic() > deadline:
                    return answer(response.status, "the answer took longer than the time limit")
        finally:
            response.release_conn()
            pool.close()
    except urllib3.exceptions.HTTPError as exc:
        return answer(error=_reason(exc))
    except OSError as exc:
        return answer(error=str(exc)[:200])
    excerpt = received[:300].decode("utf-8", "replace")
    if 300 <= response.status < 400:
        return answer(response.status, "redirects are not followed", excerpt)
    if not 200 <= response.status < 300:
        return answer(response.status, f"the receiver answered {response.status}", excerpt)
    return answer(response.status, None, excerpt)


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(exc).__name__}: {reason}"[:200]
