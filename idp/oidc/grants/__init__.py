"""The grants this server answers: one module per grant, each exporting ``grant`` (a
``GrantSpec``: the Authlib class, its ``grant_type``, the rule for which clients may hold it).

``REGISTERED`` is the registry: adding a grant is one module here and one entry in it. The
authorization server registers exactly these (``idp.oidc.server``), discovery derives
``grant_types_supported``, ``token_endpoint_auth_methods_supported`` and
``response_types_supported`` from them (``idp.oidc.metadata``), and the services that store a
client's grant types validate against them (``idp.services.grant_types``)."""
from __future__ import annotations

from . import authorization_code, client_credentials, device_code, refresh_token, token_exchange
from .base import GrantSpec

REGISTERED: tuple[GrantSpec, ...] = (
    authorization_code.grant,
    refresh_token.grant,
    client_credentials.grant,
    device_code.grant,
    token_exchange.grant,
)


def register_grants(app, server, grants: tuple[GrantSpec, ...] = REGISTERED) -> None:
    """Register each grant (with its extensions and endpoints) on ``server`` and its grant type
    in the services' registry."""
    from ...services.grant_types import register_grant_type

    for spec in grants:
        server.register_grant(spec.grant_class, spec.extensions())
        for endpoint in spec.endpoints:
            server.register_endpoint(endpoint)
        register_grant_type(app, spec.as_grant_type())
        if spec.init_app is not None:
            spec.init_app(app)
    app.extensions["idp.grants"] = tuple(grants)


def registered_grants() -> tuple[GrantSpec, ...]:
    from flask import current_app

    return current_app.extensions["idp.grants"]
