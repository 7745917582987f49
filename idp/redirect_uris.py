"""Whether a redirect URI named in an authorization request is one the client registered.

Exact string comparison (RFC 6749 §3.1.2.3, as RFC 9700 §2.1 requires), with the one exception
RFC 8252 makes for native apps, which cannot keep a port: for a public client registered with a
loopback redirect URI (``http://127.0.0.1/cb``, ``http://[::1]/cb``, ``http://localhost/cb``)
the request may name any port (§7.3) and any of the loopback names (§8.3 prefers the IP
literals; a browser on the same machine opens the demo as ``localhost`` as often as not).
Scheme, path and query must still match exactly, and confidential clients never get it."""
from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def is_loopback_redirect_uri(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not one
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def _beside_host_and_port(uri: str) -> tuple:
    parts = urlsplit(uri)
    return parts.scheme, parts.username, parts.password, parts.path, parts.query, parts.fragment


def redirect_uri_registered(registered: list[str], requested: str, *, native: bool) -> bool:
    """``native``: a public client, whose loopback redirect URIs take any port and loopback name."""
    if requested in registered:
        return True
    if not native or not is_loopback_redirect_uri(requested):
        return False
    wanted = _beside_host_and_port(requested)
    return any(is_loopback_redirect_uri(uri) and _beside_host_and_port(uri) == wanted for uri in registered)
