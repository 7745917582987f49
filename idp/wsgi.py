"""Production entry point: ``granian --interface wsgi idp.wsgi:app`` as ``deploy/idp.service``
runs it, or ``gunicorn -c deploy/gunicorn.conf.py 'idp.wsgi:app'`` (run ``idp db upgrade`` first).

It does not start without ``server.public_url``: behind a proxy that passes the client's
``Host``, an address derived from requests would put an attacker's host into reset links and
the issuer (``idp.public_address``). A bad or missing setting stops it with one line naming
the key."""
import os

from . import create_app
from .config import ConfigError, load_settings
from .memory import bound_malloc
from .public_address import require_public_url


def production_app():
    try:
        settings = load_settings(os.environ.get("IDP_CONFIG") or None)
        require_public_url(settings)
        return create_app(settings=settings)
    except ConfigError as error:
        raise SystemExit(f"idp: {error}") from None


app = production_app()
bound_malloc()
