"""Upstream providers of a realm: presets for well-known services and generic OpenID Connect."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..extensions import db
from ..models.social import FederatedIdentity, IdentityProvider
from ..security import encrypt
from ..services import NotFound, ServiceError
from ..services.audit import record_event

MFA_MODES = ("skip", "upstream", "require")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

PRESETS = {
    "oidc": {"display_name": "OpenID Connect", "scope": "openid email profile"},
    "google": {"display_name": "Google", "issuer": "https://accounts.google.com", "scope": "openid email profile"},
    "microsoft": {"display_name": "Microsoft", "issuer": "https://login.microsoftonline.com/common/v2.0",
                  "scope": "openid email profile"},
    "apple": {"display_name": "Apple", "issuer": "https://appleid.apple.com", "scope": "openid email name",
              "authorize_params": {"response_mode": "form_post"}},
    "github": {"display_name": "GitHub", "scope": "read:user user:email",
               "authorize_url": "https://github.com/login/oauth/authorize",
               "token_url": "https://github.com/login/oauth/access_token",
               "api_base_url": "https://api.github.com/"},
}
KINDS = tuple(PRESETS)


def _valid_issuer(issuer: str) -> str:
    parts = urlsplit(issuer or "")
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme not in ("https", "http") or not parts.netloc or (parts.scheme == "http" and not local):
        raise ServiceError("--issuer must be an https URL (http only for localhost)", field="issuer")
    return issuer.rstrip("/")


def list_providers(realm, *, enabled_only: bool = False) -> list[IdentityProvider]:
    query = db.select(IdentityProvider).filter_by(realm_id=realm.id)
    if enabled_only:
        query = query.filter_by(enabled=True)
    return list(db.session.scalars(query.order_by(IdentityProvider.id)))


def get_provider(realm, name: str) -> IdentityProvider:
    row = db.session.scalar(db.select(IdentityProvider).filter_by(realm_id=realm.id, name=name))
    if row is None:
        raise NotFound(f"provider '{name}' does not exist in realm '{realm.name}'")
    return row


def add_provider(realm, *, kind: str, name: str, client_id: str, client_secret: str | None,
                 issuer: str | None = None, scope: str | None = None, mfa_mode: str = "skip",
                 display_name: str | None = None, enabled: bool = True) -> IdentityProvider:
    if kind not in PRESETS:
        raise ServiceError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if not NAME.match(name or ""):
        raise ServiceError("provider name must be lowercase letters, digits, '-' or '_'", field="name")
    if db.session.scalar(db.select(IdentityProvider.id).filter_by(realm_id=realm.id, name=name)) is not None:
        raise ServiceError(f"a provider named '{name}' already exists", field="name")
    if mfa_mode not in MFA_MODES:
        raise ServiceError(f"mfa mode must be one of {', '.join(MFA_MODES)}", field="mfa_mode")
    if not client_id:
        raise ServiceError("--client-id is required", field="client_id")
    preset = PRESETS[kind]
    if kind == "github":
        issuer = None
    else:
        issuer = _valid_issuer(issuer or preset.get("issuer") or "")
    row = IdentityProvider(
        realm_id=realm.id, name=name, kind=kind,
        display_name=(display_name or preset["display_name"] if kind != "oidc" else display_name or name.title()),
        issuer=issuer, client_id=client_id,
        client_secret_encrypted=encrypt(client_secret) if client_secret else None,
        scope=scope or preset["scope"], mfa_mode=mfa_mode, enabled=enabled,
    )
    db.session.add(row)
    db.session.flush()
    record_event("provider.added", realm=realm, name=name, kind=kind)
    return row


def set_provider_enabled(row: IdentityProvider, enabled: bool) -> None:
    row.enabled = enabled


def remove_provider(row: IdentityProvider) -> None:
    db.session.execute(db.delete(FederatedIdentity).where(FederatedIdentity.provider_id == row.id))
    db.session.delete(row)


def describe(row: IdentityProvider) -> dict:
    return {"name": row.name, "kind": row.kind, "display_name": row.display_name, "issuer": row.issuer,
            "client_id": row.client_id, "scope": row.scope, "mfa_mode": row.mfa_mode, "enabled": row.enabled}
