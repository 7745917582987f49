from __future__ import annotations

from flask import current_app, request


def public_base_url() -> str:
    configured = current_app.extensions["idp.settings"].server.public_url
    if configured:
        return configured.rstrip("/")
    return request.host_url.rstrip("/")


def realm_issuer(realm) -> str:
    return f"{public_base_url()}/realms/{realm.name}"
