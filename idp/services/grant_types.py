"""Which grant types exist in this installation, and which clients may hold each.

The grants themselves live in ``idp.oidc.grants`` (one module each); the protocol layer fills
this registry when it starts (``register_grant_type``), so that the services that store a
client's grant types (CLI, console, API) validate against what the server really answers,
without importing the protocol layer."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

_KEY = "idp.grant_types"

#: A client rule: why this client may not hold the grant type, or None when it may.
ClientRule = Callable[[object], "str | None"]


@dataclass(frozen=True)
class GrantType:
    grant_type: str
    #: One line for the CLI's help and the console's checkbox.
    description: str
    client_rule: ClientRule


def register_grant_type(app, grant_type: GrantType) -> None:
    app.extensions.setdefault(_KEY, {})[grant_type.grant_type] = grant_type


def registered_grant_types() -> dict[str, GrantType]:
    return dict(current_app.extensions.get(_KEY, {}))


def refusal(client, grant_type: str) -> str | None:
    """Why ``client`` may not hold ``grant_type`` (unknown here, or its rule refuses), else None."""
    known = registered_grant_types()
    if grant_type not in known:
        return f"unknown grant type {grant_type[:64]}; grant types are {', '.join(known)}"
    return known[grant_type].client_rule(client)
