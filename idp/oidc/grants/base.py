"""What a grant module exports (``GrantSpec``) and the helpers grants share."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from ...services.grant_types import ClientRule, GrantType


def settings():
    return current_app.extensions["idp.settings"]


@dataclass(frozen=True)
class GrantSpec:
    """One grant: its Authlib class, the extensions registered with it, and which clients may
    hold it. ``grant_type`` is the Authlib class's ``GRANT_TYPE``.

    ``endpoints`` are further Authlib endpoints the grant needs (the device authorization
    endpoint), registered with the server; ``metadata`` adds discovery entries (the endpoint's
    URL) from the realm's issuer; ``init_app`` registers what else it brings."""

    grant_class: type
    description: str
    client_rule: ClientRule
    extensions: Callable[[], list] = lambda: []
    endpoints: tuple = ()
    metadata: Callable[[str], dict] = lambda issuer: {}
    #: Anything else the grant brings (its pages, its answer to a finished login, its purge).
    init_app: Callable | None = None

    @property
    def grant_type(self) -> str:
        return self.grant_class.GRANT_TYPE

    @property
    def token_endpoint_auth_methods(self) -> list[str]:
        return list(self.grant_class.TOKEN_ENDPOINT_AUTH_METHODS)

    @property
    def response_types(self) -> set[str]:
        return set(getattr(self.grant_class, "RESPONSE_TYPES", set()))

    def as_grant_type(self) -> GrantType:
        return GrantType(self.grant_type, self.description, self.client_rule)


def any_client(client) -> str | None:
    return None


def confidential_only(grant_type: str) -> ClientRule:
    def rule(client) -> str | None:
        if client.public:
            return f"public clients cannot use {grant_type} (they have no secret to authenticate with)"
        return None

    return rule
