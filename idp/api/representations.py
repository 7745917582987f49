"""The JSON shapes of the API's resources (the OpenAPI document describes the same shapes)."""
from __future__ import annotations

from ..mfa import flows
from ..mfa.sms import phone_on_record, phone_verified
from ..services.mfa_policy import active_sms_integrations
from ..services.realm_settings import realm_setting_values
from ..services.sms_integrations import describe


def timestamp(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def user_json(user) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "email_verified": bool(user.email_verified),
        "registration_pending": bool(user.registration_pending),
        "mfa_enabled": bool(user.mfa_enabled),
        "factors": [factor.kind for factor in flows.usable_factors(user.realm, user)],
        "phone": phone_on_record(user),
        "phone_verified": phone_verified(user),
        "disabled": bool(user.disabled),
        "created_at": timestamp(user.created_at),
        "last_login_at": timestamp(user.last_login_at),
    }


def client_json(client) -> dict:
    """A relying client, without its secret (shown once, at creation or rotation)."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "public": bool(client.public),
        "first_party": bool(client.first_party),
        "redirect_uris": list(client.redirect_uris or []),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "grant_types": list(client.grant_types or []),
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "resource_server_for": [c.client_id for c in client.resource_server_for],
        "organization_required": bool(client.organization_required),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "jwks": client.jwks,
        "jwks_uri": client.jwks_uri,
        "require_signed_request_object": bool(client.require_signed_request_object),
        "dpop_bound_access_tokens": bool(client.dpop_bound_access_tokens),
        "self_registered": bool(client.self_registered),
        "expires_at": timestamp(client.expires_at) if client.expires_at else None,
        "created_at": timestamp(client.created_at),
    }


def credential_json(row) -> dict:
    """A credential as its factor describes it; a pending one also carries what its enrolment
    shows (a TOTP secret and ``provisioning_uri``), which is never handed out once active."""
    factor = flows.factor_of(row)
    description = factor.describe(row)
    data = {
        "id": row.id,
        "credential_type": factor.kind,
        "state": row.state,
        "name": description.name,
        "created_at": timestamp(row.created_at),
        "activated_at": timestamp(row.activated_at),
        "last_used_at": timestamp(row.last_used_at),
        **description.fields,
    }
    if row.state == "pending" and not factor.browser_enrolment:
        context = factor.enrolment_context(flows.enrolment_challenge(row))
        data.update({key: context[key] for key in ("otp_secret", "provisioning_uri") if key in context})
    return data


def sms_integration_json(row) -> dict:
    return {"id": row.id, **describe(row), "created_at": timestamp(row.created_at)}


def audit_event_json(event) -> dict:
    return {
        "id": event.id,
        "type": event.event_type,
        "user_id": event.user_id,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "details": event.details or {},
        "created_at": timestamp(event.created_at),
    }


def realm_settings_json(realm) -> dict:
    data = {"name": realm.name, **realm_setting_values(realm)}
    data["mfa_factors"] = list(realm.mfa_factors or [])
    data["active_sms_integrations"] = [row.name for row in active_sms_integrations(realm)]
    return data


def realm_json(realm) -> dict:
    """A realm: its name and every setting (the same shape as ``/settings``)."""
    return realm_settings_json(realm)


def created_client_json(client, secret: str | None) -> dict:
    """A client just registered or given a new secret: the plain secret is in this answer only."""
    return {**client_json(client), "client_secret": secret}


def provider_json(row) -> dict:
    """An upstream identity provider, without its client secret (write-only)."""
    from ..social.providers import describe

    return {**describe(row), "has_client_secret": bool(row.client_secret_encrypted),
            "created_at": timestamp(row.created_at)}


def api_key_json(key) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes or []),
        "created_at": timestamp(key.created_at),
        "expires_at": timestamp(key.expires_at),
        "last_used_at": timestamp(key.last_used_at),
        "revoked_at": timestamp(key.revoked_at),
        "active": key.is_active(),
    }


def session_json(row) -> dict:
    """A user's browser session, known by its ``sid`` (never its cookie)."""
    import datetime as dt

    return {
        "id": row.sid,
        "created_at": timestamp(row.created_at),
        "last_seen_at": timestamp(row.last_seen_at),
        "expires_at": timestamp(row.expires_at),
        "authenticated_at": timestamp(dt.datetime.fromtimestamp(row.auth_time, dt.timezone.utc)),
        "amr": list(row.amr or []),
        "acr": row.acr,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
    }
