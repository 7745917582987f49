"""The admin console at ``/admin``: server-rendered pages over the same services as the CLI
and the management API.

Administrators log in through this provider's own ``admin`` realm (hosted login, second
factor required). The realm's session cookie is scoped to ``/realms/admin/``, so the login
ends at ``/realms/admin/console`` (``console_entry_bp``), which checks the session and hands
the console a reference to it in the signed Flask session; every console request re-checks
that browser session (active, second factor, console role)."""
from __future__ import annotations

from flask import Blueprint

from ..services.realms import ADMIN_REALM

admin_bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
                     static_folder="static", static_url_path="/static")
console_entry_bp = Blueprint("admin_entry", __name__, url_prefix=f"/realms/{ADMIN_REALM}/console")

from . import console  # noqa: E402,F401  (request hooks, error pages, sign-in)
from .pages import (  # noqa: E402,F401
    api_keys, audit, clients, dashboard, organizations, providers, realms, sms_integrations, users, webhooks,
)

__all__ = ["admin_bp", "console_entry_bp"]
