"""The provider's public address, ``server.public_url``: what every absolute URL it hands out
starts with (the issuer, discovery, links in mails), and the only host a request may name.

A request's ``Host`` header (or ``X-Forwarded-Host`` from a trusted proxy) is the client's to
choose. Were it believed, a password reset asked for with ``Host: attacker.example`` would mail
the victim a link to the attacker's server, token included, and the issuer would follow it too.
So:

- ``idp.wsgi`` (production, under granian or gunicorn) does not start without a public URL;
- the development servers (``idp serve``, ``idp demo``) derive one from the address they listen
  on (``development_public_url``);
- ``create_app`` trusts only the public URL's host (Flask's ``TRUSTED_HOSTS``: a request naming
  any other host gets a 400 before a view runs), plus the loopback names when that host is a
  loopback one. Without a public URL (tests, CLI commands that serve nothing) only the loopback
  names are trusted, and absolute URLs are built on them.

Checking the host ignores the port (Werkzeug's rule); URLs handed out never use the request's
port anyway once a public URL is set."""
from __future__ import annotations

from urllib.parse import urlsplit

from .config import ConfigError

#: Host names that reach this machine only; trusted when there is no public URL.
LOOPBACK_NAMES = ("localhost", "127.0.0.1")
_LOOPBACK_HOSTS = frozenset({*LOOPBACK_NAMES, "::1"})
_EVERY_ADDRESS = frozenset({"", "0.0.0.0", "::"})


def check_public_url(value: str) -> str:
    """The public URL without its trailing slash, or ``ConfigError`` when it is not an absolute
    http(s) URL of a host (a path prefix is allowed; credentials, query and fragment are not)."""
    value = (value or "").strip()
    if not value:
        return ""
    problem = None
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:
        problem = "it is not a URL"
    else:
        if parts.scheme not in ("http", "https") or not host:
            problem = "it needs http:// or https:// and a host"
        elif "@" in parts.netloc or parts.query or parts.fragment or value.endswith(("?", "#")):
            problem = "it may not hold credentials, a query or a fragment"
    if problem:
        raise ConfigError(f"key 'server.public_url': expected the address users reach idp at, such as "
                          f"https://login.example.com ({problem}), got {value!r}")
    return value.rstrip("/")


def trusted_hosts(public_url: str) -> list[str]:
    """The host names requests may name (``TRUSTED_HOSTS``; never empty, which would trust all)."""
    if not public_url:
        return list(LOOPBACK_NAMES)
    host = urlsplit(public_url).hostname
    names = [f"[{host}]" if ":" in host else host]
    if host in _LOOPBACK_HOSTS:
        names += [name for name in LOOPBACK_NAMES if name not in names]
    return names


def development_public_url(host: str, port: int) -> tuple[str, str | None]:
    """The public URL of a development server listening on ``host:port`` that was given none,
    and a note to print beside it when it is not simply that address.

    Listening on every address (``0.0.0.0``, ``::``) names no host to derive from: the server
    then answers as ``http://127.0.0.1:PORT`` (loopback names only), which is what a browser on
    the same machine or a container's forwarded port uses. Other machines need
    ``server.public_url`` set to the address they reach it at."""
    if host in _EVERY_ADDRESS:
        return (f"http://127.0.0.1:{port}",
                "listening on every address, answering only to loopback names: set server.public_url "
                "(IDP_SERVER_PUBLIC_URL) to the address other machines use")
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}", None


def require_public_url(settings) -> None:
    """Production refuses to guess its address from requests."""
    if not settings.server.public_url.strip():
        raise ConfigError("key 'server.public_url' (IDP_SERVER_PUBLIC_URL) is not set: production serving needs "
                          "the address users reach idp at, such as https://login.example.com")
