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
#: An ``amr``/``acr`` value an operator may allow: printable ASCII, no spaces (RFC 8176 values,
#: URNs and URLs all fit).
MFA_VALUE = re.compile(r"^[\x21-\x7e]{1,200}$")
MAX_MFA_VALUES = 20
#: What ``upstream`` mode accepts when the operator names nothing: RFC 8176's "mfa" in ``amr``.
DEFAULT_UPSTREAM_MFA_AMR = ("mfa",)

#: ``trust_email``: whether a new provider of the kind starts out trusting the upstream's
#: ``email_verified``. Google, Apple and GitHub verify the addresses they assert; Microsoft's
#: ``email`` claim is whatever the tenant typed (the "nOAuth" attacks), and a generic OpenID
#: Connect upstream is unknown, so those start off and prove addresses by mail.
PRESETS = {
    "oidc": {"display_name": "OpenID Connect", "scope": "openid email profile", "trust_email": False},
    "google": {"display_name": "Google", "issuer": "https://accounts.google.com", "scope": "openid email profile",
               "trust_email": True},
    "microsoft": {"display_name": "Microsoft", "issuer": "https://login.microsoftonline.com/common/v2.0",
                  "scope": "openid email profile", "trust_email": False},
    "apple": {"display_name": "Apple", "issuer": "https://appleid.apple.com", "scope": "openid email name",
              "authorize_params": {"response_mode": "form_post"}, "trust_email": True},
    "github": {"display_name": "GitHub", "scope": "read:user user:email", "trust_email": True,
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


def find_provider(realm, name: str) -> IdentityProvider | None:
    if not isinstance(name, str) or not NAME.match(name):
        return None
    return db.session.scalar(db.select(IdentityProvider).filter_by(realm_id=realm.id, name=name))


def get_provider(realm, name: str) -> IdentityProvider:
    row = find_provider(realm, name)
    if row is None:
        raise NotFound(f"provider '{name}' does not exist in realm '{realm.name}'")
    return row


def _mfa_values(values, field: str) -> list[str]:
    values = [str(v).strip() for v in values or [] if str(v).strip()]
    if len(values) > MAX_MFA_VALUES:
        raise ServiceError(f"at most {MAX_MFA_VALUES} values may be allowed", field=field)
    for value in values:
        if not MFA_VALUE.match(value):
            raise ServiceError(f"'{value[:40]}' is not a valid amr/acr value (printable ASCII, no spaces)", field=field)
    return sorted(set(values), key=values.index)


def _check_mfa_settings(mfa_mode: str, amr: list[str], acr: list[str]) -> None:
    if mfa_mode not in MFA_MODES:
        raise ServiceError(f"mfa mode must be one of {', '.join(MFA_MODES)}", field="mfa_mode")
    if mfa_mode == "upstream" and not amr and not acr:
        raise ServiceError("upstream mode needs at least one allowed amr or acr value", field="upstream_mfa_amr")


def add_provider(realm, *, kind: str, name: str, client_id: str, client_secret: str | None,
                 issuer: str | None = None, scope: str | None = None, mfa_mode: str = "skip",
                 display_name: str | None = None, enabled: bool = True,
                 upstream_mfa_amr: list[str] | None = None, upstream_mfa_acr: list[str] | None = None,
                 trust_email: bool | None = None) -> IdentityProvider:
    if kind not in PRESETS:
        raise ServiceError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if not NAME.match(name or ""):
        raise ServiceError("provider name must be lowercase letters, digits, '-' or '_'", field="name")
    if db.session.scalar(db.select(IdentityProvider.id).filter_by(realm_id=realm.id, name=name)) is not None:
        raise ServiceError(f"a provider named '{name}' already exists", field="name")
    amr = _mfa_values(upstream_mfa_amr, "upstream_mfa_amr")
    acr = _mfa_values(upstream_mfa_acr, "upstream_mfa_acr")
    if mfa_mode == "upstream" and upstream_mfa_amr is None and upstream_mfa_acr is None:
        amr = list(DEFAULT_UPSTREAM_MFA_AMR)
    _check_mfa_settings(mfa_mode, amr, acr)
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
        upstream_mfa_amr=amr, upstream_mfa_acr=acr,
        trust_email=preset["trust_email"] if trust_email is None else bool(trust_email),
    )
    db.session.add(row)
    db.session.flush()
    record_event("provider.added", realm=realm, name=name, kind=kind)
    return row


def set_provider_enabled(row: IdentityProvider, enabled: bool) -> None:
    if row.enabled != bool(enabled):
        row.enabled = bool(enabled)
        record_event("provider.enabled" if enabled else "provider.disabled", realm=row.realm, name=row.name)


def update_provider(row: IdentityProvider, *, display_name: str | None = None, issuer: str | None = None,
                    client_id: str | None = None, client_secret: str | None = None, scope: str | None = None,
                    mfa_mode: str | None = None, upstream_mfa_amr: list[str] | None = None,
                    upstream_mfa_acr: list[str] | None = None, trust_email: bool | None = None,
                    enabled: bool | None = None) -> IdentityProvider:
    """Change what is given (None keeps a setting; an empty list clears an MFA allow-list),
    with the rules of ``add_provider``. The kind and the name stay: they are in the users'
    links and the upstream's registered redirect URI. The caller commits, or rolls back on
    ``ServiceError``."""
    changed = []
    if display_name is not None:
        display_name = display_name.strip()
        if not display_name or len(display_name) > 100:
            raise ServiceError("display name must be 1-100 characters", field="display_name")
        row.display_name = display_name
        changed.append("display_name")
    if issuer is not None:
        if row.kind == "github":
            raise ServiceError("GitHub has no issuer: it is not an OpenID Connect provider", field="issuer")
        row.issuer = _valid_issuer(issuer)
        changed.append("issuer")
    if client_id is not None:
        client_id = client_id.strip()
        if not client_id or len(client_id) > 500:
            raise ServiceError("--client-id must be 1-500 characters", field="client_id")
        row.client_id = client_id
        changed.append("client_id")
    if client_secret is not None:
        row.client_secret_encrypted = encrypt(client_secret) if client_secret else None
        changed.append("client_secret")
    if scope is not None:
        scope = " ".join(scope.split())
        if not scope or len(scope) > 500:
            raise ServiceError("--scope must be 1-500 characters", field="scope")
        row.scope = scope
        changed.append("scope")
    if changed:
        record_event("provider.updated", realm=row.realm, name=row.name, changed=changed)
    if trust_email is not None and bool(trust_email) != bool(row.trust_email):
        set_provider_trust_email(row, bool(trust_email))
    if mfa_mode is not None or upstream_mfa_amr is not None or upstream_mfa_acr is not None:
        set_provider_mfa(row, mfa_mode=mfa_mode, upstream_mfa_amr=upstream_mfa_amr, upstream_mfa_acr=upstream_mfa_acr)
    if enabled is not None:
        set_provider_enabled(row, enabled)
    return row


def set_provider_trust_email(row: IdentityProvider, trust: bool) -> None:
    row.trust_email = bool(trust)
    record_event("provider.trust_email_changed", realm=row.realm, name=row.name, trust_email=bool(trust))


def set_provider_mfa(row: IdentityProvider, *, mfa_mode: str | None = None, upstream_mfa_amr: list[str] | None = None,
                     upstream_mfa_acr: list[str] | None = None) -> IdentityProvider:
    """Change what a federated login through ``row`` must do about our second factor. ``None``
    keeps a setting; an empty list clears an allow-list."""
    mode = mfa_mode if mfa_mode is not None else row.mfa_mode
    amr = _mfa_values(upstream_mfa_amr, "upstream_mfa_amr") if upstream_mfa_amr is not None \
        else list(row.upstream_mfa_amr or [])
    acr = _mfa_values(upstream_mfa_acr, "upstream_mfa_acr") if upstream_mfa_acr is not None \
        else list(row.upstream_mfa_acr or [])
    if mode == "upstream" and row.mfa_mode != "upstream" and upstream_mfa_amr is None and \
            upstream_mfa_acr is None and not amr and not acr:
        amr = list(DEFAULT_UPSTREAM_MFA_AMR)
    _check_mfa_settings(mode, amr, acr)
    row.mfa_mode, row.upstream_mfa_amr, row.upstream_mfa_acr = mode, amr, acr
    record_event("provider.mfa_changed", realm=row.realm, name=row.name, mfa_mode=mode,
                 upstream_mfa_amr=amr, upstream_mfa_acr=acr)
    return row


def upstream_did_allowed_mfa(provider: IdentityProvider, upstream_amr, upstream_acr) -> bool:
    """``upstream`` mode only: the upstream's ``amr`` holds one of the allowed values, or its
    ``acr`` is one of them -- exact strings, nothing inferred from their wording."""
    if provider.mfa_mode != "upstream":
        return False
    allowed_amr = set(provider.upstream_mfa_amr or [])
    allowed_acr = set(provider.upstream_mfa_acr or [])
    amr = {v for v in upstream_amr or [] if isinstance(v, str)}
    return bool(amr & allowed_amr) or (isinstance(upstream_acr, str) and upstream_acr in allowed_acr)


def remove_provider(row: IdentityProvider) -> None:
    record_event("provider.removed", realm=row.realm, name=row.name, kind=row.kind)
    db.session.execute(db.delete(FederatedIdentity).where(FederatedIdentity.provider_id == row.id))
    db.session.delete(row)


def describe(row: IdentityProvider) -> dict:
    return {"name": row.name, "kind": row.kind, "display_name": row.display_name, "issuer": row.issuer,
            "client_id": row.client_id, "scope": row.scope, "mfa_mode": row.mfa_mode,
            "upstream_mfa_amr": list(row.upstream_mfa_amr or []), "upstream_mfa_acr": list(row.upstream_mfa_acr or []),
            "trust_email": bool(row.trust_email), "enabled": row.enabled}
