"""The management API and direct-to-API login, versioned JSON under ``/api/v1`` and described
by the OpenAPI document at ``/api/v1/openapi.json``."""
from __future__ import annotations

from flask import Blueprint

from ..extensions import csrf

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)

from . import access, errors  # noqa: E402

api_bp.url_value_preprocessor(access.load_api_realm)
api_bp.url_defaults(access.add_realm_name)
api_bp.after_request(access.api_response_headers)
errors.register_error_handlers(api_bp)

from . import (  # noqa: E402,F401  (their routes register on api_bp)
    clients,
    initial_access_tokens,
    keys,
    management,
    openapi,
    organizations,
    providers,
    realms,
    sessions,
    user_sessions,
    webhooks,
)

__all__ = ["api_bp"]
