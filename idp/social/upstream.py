"""The client side of a federated login, on Authlib's framework-neutral OAuth 2 / OIDC client:
discovery, PKCE, nonce, token exchange and ID-token validation (signature, iss, aud, nonce,
exp) all happen in Authlib."""
from __future__ import annotations

import re
import threading
import time

from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session

from ..i18n import _
from ..security import decrypt
from .providers import PRESETS

_METADATA_TTL = 3600
_metadata_cache: dict[str, dict] = {}
_cache_lock = threading.Lock()


class UpstreamError(Exception):
    """Something went wrong upstream; the message is for the user."""


class _NoFramework:
    def update_token(self, *args, **kwargs):
        """Upstream tokens are used once at login and not stored."""


class UpstreamClient(OAuth2Mixin, OpenIDMixin, BaseApp):
    client_cls = OAuth2Session

    def load_server_metadata(self):
        """Discovery documents are shared across requests (and refreshed hourly)."""
        if not self._server_metadata_url:
            return self.server_metadata
        with _cache_lock:
            cached = _metadata_cache.get(self._server_metadata_url)
        if cached and time.time() - cached["_loaded_at"] < _METADATA_TTL:
            self.server_metadata.update(cached)
            return self.server_metadata
        metadata = super().load_server_metadata()
        with _cache_lock:
            _metadata_cache[self._server_metadata_url] = dict(metadata)
        return metadata


def client_for(provider, redirect_uri: str) -> UpstreamClient:
    preset = PRESETS[provider.kind]
    kwargs = {
        "client_id": provider.client_id,
        "client_secret": decrypt(provider.client_secret_encrypted) if provider.client_secret_encrypted else None,
        "client_kwargs": {"scope": provider.scope, "code_challenge_method": "S256",
                          "redirect_uri": redirect_uri, "timeout": 10},
    }
    if provider.kind == "github":
        kwargs.update(authorize_url=preset["authorize_url"], access_token_url=preset["token_url"],
                      api_base_url=preset["api_base_url"])
    else:
        kwargs["server_metadata_url"] = f"{provider.issuer}/.well-known/openid-configuration"
    if preset.get("authorize_params"):
        kwargs["authorize_params"] = dict(preset["authorize_params"])
    return UpstreamClient(_NoFramework(), name=provider.name, **kwargs)


_MICROSOFT_ISSUER = re.compile(r"^https://login\.microsoftonline\.com/([0-9a-f-]{36})/v2\.0$")


def _claims_options(provider, metadata):
    issuer = metadata.get("issuer") or provider.issuer
    if "{tenantid}" in issuer:

        def valid_tenant_issuer(claims, value):
            match = _MICROSOFT_ISSUER.match(value or "")
            return bool(match) and match.group(1) == claims.get("tid")

        return {"iss": {"essential": True, "validate": valid_tenant_issuer}}
    if issuer.rstrip("/") != (provider.issuer or "").rstrip("/"):
        raise UpstreamError(_("%(provider)s announced a different issuer than the one configured.", provider=provider.display_name))
    return {"iss": {"essential": True, "values": [issuer]}}


def upstream_identity(provider, client: UpstreamClient, token: dict, nonce: str) -> dict:
    """Validated facts about the upstream account: sub, email, email_verified, name, amr, acr."""
    if provider.kind == "github":
        return _github_identity(provider, client, token)
    metadata = client.load_server_metadata()
    if "id_token" not in token:
        raise UpstreamError(_("%(provider)s did not return an ID token.", provider=provider.display_name))
    claims = client.parse_id_token(token, nonce=nonce, claims_options=_claims_options(provider, metadata))
    verified = claims.get("email_verified")
    if isinstance(verified, str):
        verified = verified.lower() == "true"
    return bounded_identity(provider, {
        "sub": claims.get("sub"),
        "email": claims.get("email"),
        "email_verified": verified is True,
        "name": claims.get("name"),
        "amr": claims.get("amr"),
        "acr": claims.get("acr"),
    })


MAX_SUBJECT = 255
MAX_EMAIL = 320
MAX_NAME = 200
MAX_AMR_VALUES = 10
MAX_CLAIM_VALUE = 200


def _text(value, limit: int, *, numbers: bool = False) -> str | None:
    """A claim as printable text within ``limit`` characters, or None. ``numbers``: a number
    counts as its digits (GitHub's user ids are numbers)."""
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        return None
    return value


def _mailbox(value) -> str | None:
    """One address we would accept from a person, or None: an upstream's ``email`` claim is
    mailed to (the address check) and matched against accounts."""
    from ..services import ServiceError
    from ..services.users import normalize_email

    text = _text(value, MAX_EMAIL)
    try:
        return normalize_email(text) if text else None
    except ServiceError:
        return None


def bounded_identity(provider, claims: dict) -> dict:
    """The upstream's claims as we keep them: ``sub`` must be printable text of at most 255
    characters (else the login is refused); an email, name, ``acr`` or ``amr`` value that is
    not printable text within its length is dropped, and ``amr`` keeps at most 10 values. An
    upstream controls these bytes; they end up in our tables and audit log."""
    subject = _text(claims.get("sub"), MAX_SUBJECT, numbers=True)
    if subject is None:
        raise UpstreamError(_("%(provider)s sent an account identifier we cannot use.", provider=provider.display_name))
    amr = claims.get("amr")
    if isinstance(amr, list):
        amr = [value for value in (_text(v, MAX_CLAIM_VALUE) for v in amr[:MAX_AMR_VALUES]) if value]
    else:
        amr = None
    name = claims.get("name")
    if isinstance(name, str) and name.isprintable():
        name = name.strip()[:MAX_NAME] or None
    else:
        name = None
    return {
        "sub": subject,
        "email": _mailbox(claims.get("email")),
        "email_verified": claims.get("email_verified") is True,
        "name": name,
        "amr": amr,
        "acr": _text(claims.get("acr"), MAX_CLAIM_VALUE),
    }


def _github_identity(provider, client, token) -> dict:
    user = client.get("user", token=token).json()
    emails = client.get("user/emails", token=token).json()
    if not isinstance(user, dict) or not isinstance(emails, list):
        raise UpstreamError(_("We could not verify your %(provider)s login. Try again, or log in another way.",
                              provider=provider.display_name))
    primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), None) or {}
    return bounded_identity(provider, {
        "sub": user.get("id"),
        "email": primary.get("email") or user.get("email"),
        "email_verified": primary.get("verified") is True,
        "name": user.get("name") or user.get("login"),
        "amr": None,
        "acr": None,
    })
