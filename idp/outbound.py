"""Requests this provider makes to addresses that somebody else chose: a webhook receiver, a
client's ``jwks_uri``. The rules are the same for all of them.

What a host name resolves to can change after it was saved (DNS rebinding), so the address is
checked where it matters: at each request the host is resolved once, every address it resolves
to must be allowed, and the connection goes to the address that was checked (the host name is
still sent as ``Host`` and used for TLS: SNI and certificate check). Non-public addresses
(loopback, private, link-local, shared, reserved, multicast) are refused unless the caller's
setting (``webhooks.allow_private_targets``, ``client_keys.allow_private_jwks_uri``) allows
them. No redirect is followed, the whole exchange has a time limit, and at most ``max_bytes``
of the answer are read.

urllib3 is imported where a request is made: few workers ever make one, and it would weigh about
2 MB in each (``tests/test_worker_memory.py``)."""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class TargetRefused(Exception):
    """The URL may not be requested (its address, its scheme); the message says why."""


class FetchFailed(Exception):
    """The request was made but failed (no connection, too slow, too large, an error status)."""


def literal_address(host: str):
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo),
    which is where a packet to it may end up: such an address is judged by its IPv4 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64_PREFIX or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_allowed(address, *, allow_private: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and embedded_ipv4(address) is not None:
        address = embedded_ipv4(address)
    if address.is_unspecified or address.is_multicast:
        return False
    return allow_private or address.is_global


def resolve_target(host: str, port: int, *, allow_private: bool,
                   setting: str = "webhooks.allow_private_targets") -> str:
    """The address to connect to; every address the name resolves to must be allowed (one
    refused address refuses them all, so a name cannot mix a public and a private one).
    ``setting`` names the switch that would allow a non-public one, for the message."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"cannot resolve {host}")
    for address in addresses:
        if not address_allowed(address, allow_private=allow_private):
            raise TargetRefused(f"{host} resolves to a non-public address ({address}); {setting} is off")
    return str(addresses[0])


def connection_pool(url: str, address: str, timeout: float):
    """A one-connection pool to the checked ``address`` for ``url``'s host (TLS checked against
    the host name)."""
    import certifi
    import urllib3

    parts = urlsplit(url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    common = {"port": port, "timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False,
              "maxsize": 1}
    if parts.scheme == "https":
        return urllib3.HTTPSConnectionPool(address, server_hostname=host, assert_hostname=host,
                                           cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(), **common)
    return urllib3.HTTPConnectionPool(address, **common)


@dataclass
class Fetched:
    status: int
    body: bytes
    headers: dict = field(default_factory=dict)


def get(url: str, *, allow_private: bool, allow_http: bool, timeout: float, max_bytes: int,
        setting: str, headers: dict | None = None) -> Fetched:
    """GET ``url`` under the rules above: a 2xx answer of at most ``max_bytes``, or
    ``TargetRefused`` / ``FetchFailed`` saying why not."""
    import urllib3

    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("only https:// URLs are fetched")
    if parts.scheme == "http" and not allow_http:
        raise TargetRefused("http:// URLs are not fetched (use https://)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_target(parts.hostname, port, allow_private=allow_private, setting=setting)
    pool = connection_pool(url, address, timeout)
    sockets = _watch_sockets(pool)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    watchdog = threading.Timer(timeout, _shut_down, [sockets])
    watchdog.daemon = True
    watchdog.start()
    try:
        response = pool.urlopen("GET", path, headers={**(headers or {}), "Host": parts.netloc.rpartition("@")[2]},
                                redirect=False, retries=False, preload_content=False, assert_same_host=False)
        try:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchFailed(f"the answer is larger than {max_bytes} bytes")
            received = b""
            while True:
                chunk = response.read(8192)
                if not chunk:
                    break
                received += chunk
                if len(received) > max_bytes:
                    raise FetchFailed(f"the answer is larger than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FetchFailed("the answer took longer than the time limit")
            if time.monotonic() > deadline:  # cut off by the watchdog: what came is not the answer
                raise FetchFailed("the answer took longer than the time limit")
        finally:
            response.release_conn()
            pool.close()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        if time.monotonic() > deadline:
            raise FetchFailed("the answer took longer than the time limit") from None
        if isinstance(exc, OSError):
            raise FetchFailed(str(exc)[:200]) from None
        reason = getattr(exc, "reason", None) or exc
        raise FetchFailed(f"{type(exc).__name__}: {reason}"[:200]) from None
    finally:
        watchdog.cancel()
    if not 200 <= response.status < 300:
        raise FetchFailed(f"the server answered {response.status}"
                          + (" (redirects are not followed)" if 300 <= response.status < 400 else ""))
    return Fetched(response.status, received, dict(response.headers))


def _watch_sockets(pool) -> list:
    """The sockets ``pool`` connects, so that the time limit can cut them (``_shut_down``): the
    socket timeout bounds each read only, and a server sending a byte now and then (TLS
    handshake, headers or body) would otherwise hold the request for as long as it likes. The
    plain socket is kept as soon as it is connected, before any TLS handshake."""
    sockets: list = []

    class WatchedConnection(pool.ConnectionCls):
        def _new_conn(self):
            sock = super()._new_conn()
            sockets.append(sock)
            return sock

    pool.ConnectionCls = WatchedConnection
    return sockets


def _shut_down(sockets: list) -> None:
    for sock in list(sockets):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass
