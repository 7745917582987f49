"""The OpenAPI 3.1 document of ``/api/v1``, written by hand next to the routes it describes.
``tests/api/test_openapi.py`` checks that every route is in it with its methods, and nothing
else is."""
from __future__ import annotations

from flask import jsonify

from ..services.api_keys import SCOPES
from ..services.clients import GRANT_TYPES
from ..services.keys import ID_TOKEN_ALGORITHMS
from ..services.realm_settings import REALM_SETTINGS
from ..social.providers import KINDS as PROVIDER_KINDS
from ..social.providers import MFA_MODES
from . import api_bp
from .access import public, required_scope

API_KEY = [{"apiKey": []}]
ORGANIZATION_REQUIRED = ("Every login to this client is for one organization of the user: organization= on "
                         "/authorize, else the one they belong to, or a picker when they belong to several.")
RESOURCE_SERVER_FOR = ("Client ids whose tokens this client may introspect, as their resource server (API); "
                       "every client may introspect its own. Only confidential clients.")
PUBLIC = [{}, {"clientSecretBasic": []}]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(max_length: int | None = None, **extra) -> dict:
    schema = {"type": "string", **extra}
    if max_length:
        schema["maxLength"] = max_length
    return schema


def _nullable(schema: dict) -> dict:
    kind = schema.get("type")
    return {**schema, "type": [kind, "null"]} if isinstance(kind, str) else schema


def _object(properties: dict, required: tuple = (), *, closed: bool = True) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(name: str, *, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": _ref(name)}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


ERRORS = {
    "400": _error("A secret that does not check out, or a body that is not JSON."),
    "401": {**_error("No API key, or an unknown or revoked one."),
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}},
    "403": _error("The API key belongs to another realm, or lacks the route's scope (insufficient_scope)."),
    "404": _error("No such realm or resource."),
    "409": _error("The resource is not in a state that allows this."),
    "415": _error("The body is not application/json."),
    "422": _error("Input that is not valid; `fields` names each field and what is wrong."),
    "429": _error("Locked or cooling down; see Retry-After."),
}


def _responses(success: dict, *codes: str) -> dict:
    responses = dict(success)
    for code in codes:
        responses[code] = ERRORS[code]
    return responses


def _op(summary: str, success: dict, errors: tuple, *, body: str | None = None, body_required: bool = True,
        parameters: list | None = None, security=API_KEY, tags: tuple = ()) -> dict:
    operation = {"summary": summary, "security": security, "responses": _responses(success, *errors)}
    if tags:
        operation["tags"] = list(tags)
    if body:
        operation["requestBody"] = _body(body, required=body_required)
    if parameters:
        operation["parameters"] = parameters
    return operation


def _param(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _setting_schema(setting, *, update: bool) -> dict:
    """A realm setting (``services.realm_settings``) as read, or as a field of the update body,
    where null leaves it as it is."""
    if setting.kind == "boolean":
        schema = {"type": "boolean"}
    elif setting.kind == "integer":
        schema = {"type": "integer"}
        if update:
            schema.update(minimum=setting.minimum, maximum=setting.maximum)
    elif setting.kind == "countries":
        schema = {"type": "array", "items": _string(setting.max_length if update else None)}
        if update:
            schema["maxItems"] = setting.max_items
    else:
        schema = _string(setting.max_length if update else None)
    if setting.help:
        schema["description"] = setting.label + ". " + setting.help
    if setting.nullable or update:
        schema = _nullable(schema)
    return schema


READ = ("401", "403", "404", "422")
WRITE = ("400", "401", "403", "404", "415", "422")
NO_CONTENT = {"204": {"description": "Done."}}
PAGING = [_param("limit"), _param("offset")]

def _strings(max_length: int | None = None, max_items: int | None = None, description: str = "") -> dict:
    schema = {"type": "array", "items": _string(max_length)}
    if max_items:
        schema["maxItems"] = max_items
    if description:
        schema["description"] = description
    return schema


GRANT_TYPES_TEXT = ("The grants the client may use: authorization_code (needs a redirect URI), refresh_token "
                    "(with authorization_code or device_code), client_credentials (confidential clients only, "
                    "only when listed), urn:ietf:params:oauth:grant-type:device_code (RFC 8628), "
                    "urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693, confidential clients only). Default: "
                    "authorization_code and refresh_token when there are redirect URIs.")
DPOP_BOUND = ("DPoP required (RFC 9449 §5.2): every token request of this client must carry a DPoP proof; it "
              "never gets a bearer token.")
CLIENT_PROPERTIES = {
    "client_id": _string(), "name": _string(), "public": {"type": "boolean"},
    "first_party": {"type": "boolean", "description": "false: users are asked for consent."},
    "redirect_uris": _strings(), "post_logout_redirect_uris": _strings(),
    "grant_types": {"type": "array", "items": _string()},
    "id_token_signed_response_alg": _string(),
    "resource_server_for": _strings(description=RESOURCE_SERVER_FOR),
    "organization_required": {"type": "boolean", "description": ORGANIZATION_REQUIRED},
    "token_endpoint_auth_method": {"enum": ["client_secret_basic", "client_secret_post", "client_secret_jwt",
                                            "private_key_jwt", "none"]},
    "jwks": _nullable({"type": "object", "description": "The client's public keys (a JSON Web Key Set)."}),
    "jwks_uri": _nullable(_string(description="Where the client publishes its public keys.")),
    "require_signed_request_object": {"type": "boolean"},
    "dpop_bound_access_tokens": {"type": "boolean", "description": DPOP_BOUND},
    "self_registered": {"type": "boolean", "description": "Registered by the app itself (RFC 7591)."},
    "expires_at": _nullable(_string(format="date-time", description="An anonymously registered client is "
                                                                    "deleted then.")),
    "created_at": _string(format="date-time"),
}
INITIAL_ACCESS_TOKEN_PROPERTIES = {
    "id": {"type": "integer"}, "note": _string(), "uses": {"type": "integer"},
    "max_uses": _nullable({"type": "integer"}), "created_at": _string(format="date-time"),
    "expires_at": _string(format="date-time"),
}
AUTH_METHOD_TEXT = ("How the client authenticates at the token endpoint and the others that authenticate clients: "
                    "client_secret_basic (default; client_secret_post also accepted), client_secret_jwt (a JWT "
                    "signed with HS256 and its secret, RFC 7523), private_key_jwt (a JWT signed with one of its keys; "
                    "needs jwks or jwks_uri, and the client has no secret).")
CLIENT_AUTHENTICATION_INPUT = {
    "token_endpoint_auth_method": {"enum": ["client_secret_basic", "client_secret_post", "client_secret_jwt",
                                            "private_key_jwt"], "description": AUTH_METHOD_TEXT},
    "jwks": _nullable({"type": "object", "description": "The client's public keys (a JSON Web Key Set of RSA, EC "
                                                        "or OKP public signing keys, at most 20); null removes them."}),
    "jwks_uri": _nullable(_string(2000, description="An https URL where the client publishes its public keys, "
                                                    "fetched and cached by the provider; not with jwks.")),
    "require_signed_request_object": {"type": "boolean", "description": "Authorization requests must come as "
                                                                         "signed request objects (RFC 9101)."},
}
PROVIDER_CHANGES = {
    "display_name": _string(100), "issuer": _string(500, description="Issuer URL (not for github)."),
    "client_id": _string(500), "client_secret": _nullable(_string(2000, writeOnly=True,
                                                                  description="Stored encrypted; never shown.")),
    "scope": _string(500),
    "mfa_mode": {"enum": list(MFA_MODES), "description": "skip: no second factor of ours after this provider; "
                 "upstream: ours unless the upstream sent an allowed amr/acr value; require: always ours."},
    "upstream_mfa_amr": _strings(200, 20, "In upstream mode, amr values (exact) that count as a second factor "
                                          "done upstream. [] clears."),
    "upstream_mfa_acr": _strings(200, 20, "In upstream mode, acr values (exact) that count as a second factor "
                                          "done upstream. [] clears."),
    "trust_email": {"type": "boolean", "description": "The upstream's email_verified proves an address."},
    "enabled": {"type": "boolean"},
}

SCHEMAS = {
    "Error": _object({
        "error": _string(description="A machine-readable code, such as invalid_request or invalid_code."),
        "error_description": _string(description="What went wrong, in words for a person."),
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Per-field messages for input that is not valid."},
        "attempts_left": {"type": "integer", "description": "With invalid_code: tries before the account locks."},
        "retry_after": {"type": "integer", "description": "With 429: seconds to wait."},
        "scope": _string(description="With insufficient_scope: the scope the route needs."),
    }, ("error", "error_description", "fields")),
    "User": _object({
        "id": _string(), "email": _string(), "name": _nullable(_string()),
        "email_verified": {"type": "boolean"},
        "registration_pending": {"type": "boolean", "description":
                                 "Registered on the hosted page, its address not verified yet: it cannot log in, "
                                 "and verifying it (email_verified true) removes the password it was registered with."},
        "mfa_enabled": {"type": "boolean"},
        "factors": {"type": "array", "items": {"enum": ["totp", "sms"]},
                    "description": "Second factors the user can use at login now."},
        "phone": _nullable(_string()), "phone_verified": {"type": "boolean"}, "disabled": {"type": "boolean"},
        "created_at": _string(format="date-time"), "last_login_at": _nullable(_string(format="date-time")),
    }),
    "UserList": _object({"users": {"type": "array", "items": _ref("User")}, **{
        "limit": {"type": "integer"}, "offset": {"type": "integer"}, "next_offset": {"type": ["integer", "null"]}}}),
    "UserCreate": _object({
        "email": _string(320), "password": _nullable(_string(1024)), "name": _nullable(_string(200)),
        "email_verified": {"type": "boolean"},
    }, ("email",)),
    "UserUpdate": _object({
        "name": _nullable(_string(200)), "email": _string(320), "email_verified": {"type": "boolean"},
        "mfa_enabled": {"type": "boolean", "description": "The administrator's MFA flag for this user."},
        "phone": _nullable(_string(64, description="E.164 with country code; set by an administrator, "
                                                   "unverified until its first code. null or \"\" clears it.")),
        "disabled": {"type": "boolean"},
    }),
    "PasswordSet": _object({
        "password": _string(1024),
        "keep_sessions": {"type": "boolean", "default": False,
                          "description": "Keep the user's browser sessions and app tokens. By default they end, "
                                         "as after a password reset; remembered devices are forgotten either way."},
    }, ("password",)),
    "Credential": _object({
        "id": _string(description="A random id of its own, never reused: each create makes a new credential."),
        "credential_type": {"enum": ["totp", "sms"]},
        "state": {"enum": ["pending", "active"]},
        "name": _string(),
        "created_at": _nullable(_string(format="date-time")),
        "activated_at": _nullable(_string(format="date-time")),
        "last_used_at": _nullable(_string(format="date-time")),
        "phone": _string(), "phone_verified": {"type": "boolean"},
        "email": _string(description="The address an email credential mails its codes to."),
        "recovery_codes": {"type": "array", "items": _string(), "description": (
            "In the answer to the verification that activates the user's first factor only: ten recovery "
            "codes, shown once.")},
        "otp_secret": _string(description="Base32 secret of a pending TOTP credential (case-insensitive)."),
        "provisioning_uri": _string(description="otpauth://totp/... URI for a QR code, issuer and account set."),
        "synced": {"type": "boolean", "description": (
            "webauthn: the passkey may be synced to the user's other devices (its backup-eligible flag); "
            "false for a device-bound passkey or security key.")},
        "backup_eligible": {"type": "boolean", "description": "webauthn: the authenticator's BE flag."},
        "backup_state": {"type": "boolean", "description": "webauthn: the authenticator's BS flag at its last use."},
        "aaguid": _string(description="webauthn: the authenticator model's AAGUID (all zeros when not told)."),
        "transports": {"type": "array", "items": _string(), "description": "webauthn: how the browser reaches it."},
    }),
    "CredentialList": _object({"credentials": {"type": "array", "items": _ref("Credential")}}),
    "CredentialCreate": _object({
        "credential_type": {"enum": ["totp", "sms"], "description": (
            "A webauthn credential (passkey) is registered by its user in a browser: creating one here answers "
            "400 browser_registration_required.")},
        "name": _nullable(_string(100, description="Device name; a default is used when absent.")),
        "phone": _nullable(_string(64, description="Required for sms: E.164 with country code.")),
        "auth_provider_id": _nullable(_string(200, description="Accepted for AuthRocket clients and ignored.")),
    }, ("credential_type",)),
    "CredentialVerify": _object({
        "code": _nullable(_string(64, description="The code from the app or the SMS. Absent (sms only): send a code.")),
    }),
    "CodeSent": _object({"code_sent": {"type": "boolean", "description": "Always true."},
                          "credential": _ref("Credential")}),
    "RecoveryCodes": _object({"codes": {"type": "array", "items": _string()}, "remaining": {"type": "integer"}}),
    "RecoveryCodesRemaining": _object({"remaining": {"type": "integer"}}),
    "RealmSettings": _object({
        "name": _string(),
        **{setting.name: _setting_schema(setting, update=False) for setting in REALM_SETTINGS},
        "active_sms_integrations": {"type": "array", "items": _string()},
    }),
    "RealmSettingsUpdate": _object({setting.name: _setting_schema(setting, update=True)
                                    for setting in REALM_SETTINGS}),
    "Client": _object(CLIENT_PROPERTIES),
    "ClientList": _object({"clients": {"type": "array", "items": _ref("Client")}}),
    "InitialAccessToken": _object(INITIAL_ACCESS_TOKEN_PROPERTIES),
    "InitialAccessTokenWithToken": _object({**INITIAL_ACCESS_TOKEN_PROPERTIES, "token": _string(
        description="The token, in this answer only: send it as a Bearer token to the realm's /register.")}),
    "InitialAccessTokenList": _object({"initial_access_tokens": {"type": "array",
                                                                 "items": _ref("InitialAccessToken")}}),
    "InitialAccessTokenCreate": _object({
        "expires_in": {"type": "integer", "minimum": 60, "maximum": 31536000, "default": 86400},
        "max_uses": _nullable({"type": "integer", "minimum": 1, "maximum": 100000,
                               "description": "Registrations it allows; null: any until it expires."}),
        "note": _string(200, description="What it is for."),
    }),
    "ClientCreate": _object({
        "name": _string(200), "redirect_uris": _strings(2000, 50, "Exact redirect URIs; https, or http for loopback."),
        "post_logout_redirect_uris": _strings(2000, 50, "Where the app may send users after logout."),
        "public": {"type": "boolean", "default": False, "description": "A public (PKCE-only) client with no secret."},
        "first_party": {"type": "boolean", "default": True, "description": "false: users are asked for consent."},
        "grant_types": {**_strings(64, 10, GRANT_TYPES_TEXT), "items": {"enum": list(GRANT_TYPES)}},
        "id_token_signed_response_alg": {"enum": list(ID_TOKEN_ALGORITHMS), "default": "RS256"},
        "client_id": _string(64, description="Choose the client id (default: random)."),
        "theme": _string(64, description="Theme for this client's pages (overrides the realm's)."),
        "resource_server_for": _strings(64, 100, RESOURCE_SERVER_FOR),
        **CLIENT_AUTHENTICATION_INPUT,
        "dpop_bound_access_tokens": {"type": "boolean", "default": False, "description": DPOP_BOUND},
    }, ("name",)),
    "ClientWithSecret": _object({
        **CLIENT_PROPERTIES,
        "client_secret": _nullable(_string(description="Shown in this answer only; null for a public client.")),
    }),
    "ClientUpdate": _object({
        "name": _string(200),
        "redirect_uris": _strings(2000, 50, "Replaces the list. The code grant and refresh tokens follow: on with "
                                            "a first URI, off with none."),
        "post_logout_redirect_uris": _strings(2000, 50, "Replaces the list."),
        "grant_types": {**_strings(64, 10, GRANT_TYPES_TEXT + " Replaces the list."),
                        "items": {"enum": list(GRANT_TYPES)}},
        "resource_server_for": _strings(64, 100, RESOURCE_SERVER_FOR + " Replaces the list; [] clears it."),
        "organization_required": {"type": "boolean", "description": ORGANIZATION_REQUIRED},
        **CLIENT_AUTHENTICATION_INPUT,
        "dpop_bound_access_tokens": {"type": "boolean", "description": DPOP_BOUND},
    }),
    "RealmList": _object({"realms": {"type": "array", "items": _ref("RealmSettings")}}),
    "RealmCreate": _object({"name": _string(63, pattern="^[a-z0-9][a-z0-9-]{0,62}$"),
                            **{setting.name: _setting_schema(setting, update=True) for setting in REALM_SETTINGS}},
                           ("name",)),
    "Provider": _object({
        "name": _string(), "kind": {"enum": list(PROVIDER_KINDS)}, "display_name": _string(),
        "issuer": _nullable(_string()), "client_id": _string(), "scope": _string(),
        "mfa_mode": {"enum": list(MFA_MODES)}, "upstream_mfa_amr": _strings(), "upstream_mfa_acr": _strings(),
        "trust_email": {"type": "boolean"}, "enabled": {"type": "boolean"},
        "has_client_secret": {"type": "boolean"}, "created_at": _string(format="date-time"),
    }),
    "ProviderList": _object({"providers": {"type": "array", "items": _ref("Provider")}}),
    "ProviderCreate": _object({
        "kind": {"enum": list(PROVIDER_KINDS)}, "name": _string(63, pattern="^[a-z0-9][a-z0-9_-]{0,62}$"),
        **PROVIDER_CHANGES,
    }, ("kind", "name", "client_id")),
    "ProviderUpdate": _object(PROVIDER_CHANGES),
    "ApiKey": _object({
        "id": {"type": "integer"}, "name": _string(), "prefix": _string(),
        "scopes": {"type": "array", "items": {"enum": list(SCOPES)}},
        "created_at": _string(format="date-time"), "expires_at": _nullable(_string(format="date-time")),
        "last_used_at": _nullable(_string(format="date-time")), "revoked_at": _nullable(_string(format="date-time")),
        "active": {"type": "boolean"},
    }),
    "ApiKeyWithSecret": _object({
        "id": {"type": "integer"}, "name": _string(), "prefix": _string(),
        "scopes": {"type": "array", "items": {"enum": list(SCOPES)}},
        "created_at": _string(format="date-time"), "expires_at": _nullable(_string(format="date-time")),
        "last_used_at": _nullable(_string(format="date-time")), "revoked_at": _nullable(_string(format="date-time")),
        "active": {"type": "boolean"},
        "secret": _string(description="The key, in this answer only."),
    }),
    "ApiKeyList": _object({"api_keys": {"type": "array", "items": _ref("ApiKey")}}),
    "ApiKeyCreate": _object({
        "name": _string(100),
        "scopes": {"type": "array", "items": {"enum": list(SCOPES)}, "minItems": 1, "maxItems": 20,
                   "description": "Only scopes the calling key holds."},
        "expires_at": _nullable(_string(40, description="ISO 8601 date-time, or a duration such as 90d; no later "
                                                        "than the calling key's own expiry.")),
    }, ("name", "scopes")),
    "Session": _object({
        "id": _string(description="The session's sid (as in the ID tokens it issued)."),
        "created_at": _string(format="date-time"), "last_seen_at": _string(format="date-time"),
        "expires_at": _string(format="date-time"), "authenticated_at": _string(format="date-time"),
        "amr": _strings(), "acr": _nullable(_string()),
        "ip_address": _nullable(_string()), "user_agent": _nullable(_string()),
    }),
    "SessionList": _object({"sessions": {"type": "array", "items": _ref("Session")}}),
    "SessionsEnded": _object({"sessions": {"type": "integer"}, "logins": {"type": "integer"},
                              "tokens": {"type": "integer"}}),
    "SmsIntegrationList": _object({"sms_integrations": {"type": "array", "items": _ref("SmsIntegration")}}),
    "AuditEvent": _object({
        "id": {"type": "integer"}, "type": _string(), "user_id": _nullable(_string()),
        "ip_address": _nullable(_string()), "user_agent": _nullable(_string()), "details": {"type": "object"},
        "created_at": _string(format="date-time"),
    }),
    "AuditEventList": _object({"audit_events": {"type": "array", "items": _ref("AuditEvent")},
                               "limit": {"type": "integer"}, "offset": {"type": "integer"},
                               "next_offset": {"type": ["integer", "null"]}}),
    "LoginRequest": _object({
        "email": _string(320), "password": _string(1024),
        "client_id": _string(64, description="Required unless sent in HTTP Basic credentials."),
        "client_secret": _string(200, description="client_secret_post for a confidential client."),
        "scope": _string(500, description="Scope of the client's OIDC tokens (default: openid profile email); "
                                          "add offline_access for a refresh token."),
        "nonce": _string(255, description="Put in the client's ID token."),
        "acr_values": _string(500, description="urn:idp:acr:mfa asks for a second factor even without MFA."),
        "organization": _string(64, description="Log in for this organization (name or id): the client's tokens "
                                                "carry org_id, org_name and the user's org_permissions; a user "
                                                "who is not a member gets 403 access_denied."),
    }, ("email", "password")),
    "SendCodeRequest": _object({"token": _string(300, pattern="^kli_"), "factor": {"enum": ["sms"]}}, ("token",)),
    "CompleteMfaRequest": _object({
        "token": _string(300, pattern="^kli_"), "code": _string(64),
        "factor": {"enum": ["totp", "sms", "recovery"],
                   "description": "Which factor the code is from; guessed from the code when absent."},
        "email": _string(320, description="Accepted for authrocket.js compatibility and ignored."),
        "client_id": _string(64), "client_secret": _string(200),
    }, ("token", "code")),
    "LoginUser": _object({"id": _string(), "email": _string(), "name": _nullable(_string()),
                          "email_verified": {"type": "boolean"}}),
    "TokenResponse": _object({
        "access_token": _string(), "token_type": _string(), "expires_in": {"type": "integer"},
        "scope": _string(), "refresh_token": _string(), "id_token": _string(),
    }, closed=False),
    "FullLogin": _object({
        "result": {"const": "full_login"},
        "token": _string(description="JWT (ES256, realm JWKS): iss, aud = client_id, sub, exp (5 minutes), "
                                     "auth_time, amr, acr, jti."),
        "expires_in": {"type": "integer"},
        "user": _ref("LoginUser"),
        "oidc": {**_ref("TokenResponse"),
                 "description": "Only when the request authenticated a confidential client with its secret."},
    }, ("result", "token", "user")),
    "NeedsMfa": _object({
        "result": {"const": "needs_mfa"},
        "token": _string(description="kli_ temporary token: single-use, 10 minutes, only for this login."),
        "factors": {"type": "array", "items": {"enum": ["totp", "sms", "recovery"]}},
        "expires_in": {"type": "integer"},
        "phone": _string(description="The masked phone number, when sms is a factor."),
    }, ("result", "token", "factors")),
    "LoginResult": {"oneOf": [_ref("FullLogin"), _ref("NeedsMfa")]},
    "CodeSentForLogin": _object({
        "factor": _string(), "sent": {"type": "boolean"}, "phone": _nullable(_string()),
        "resend_wait_seconds": {"type": "integer"},
    }),
}

PARAMETERS = {
    "realm": {"name": "realm_name", "in": "path", "required": True, "schema": _string(64)},
    "user_id": {"name": "user_id", "in": "path", "required": True, "schema": _string(320),
                "description": "The user's id (or email)."},
    "credential_id": {"name": "credential_id", "in": "path", "required": True, "schema": _string(64)},
    "client_id": {"name": "client_id", "in": "path", "required": True, "schema": _string(64)},
    "integration_id": {"name": "integration_id", "in": "path", "required": True,
                       "schema": {"type": "integer", "minimum": 0}},
    "provider_name": {"name": "provider_name", "in": "path", "required": True, "schema": _string(64)},
    "key_id": {"name": "key_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
    "token_id": {"name": "token_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
    "session_id": {"name": "session_id", "in": "path", "required": True, "schema": _string(64),
                   "description": "The session's sid."},
    "limit": _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}, "Page size."),
    "offset": _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "Rows to skip."),
}

REALM = "/api/v1/realms/{realm_name}"
USER = f"{REALM}/users/{{user_id}}"
CREDENTIAL = f"{USER}/credentials/{{credential_id}}"
INTEGRATION = f"{REALM}/sms_integrations/{{integration_id}}"
CLIENT = f"{REALM}/clients/{{client_id}}"
PROVIDER = f"{REALM}/providers/{{provider_name}}"
API_KEY_PATH = f"{REALM}/api_keys/{{key_id}}"


def _paths() -> dict:
    ok = lambda schema, text="OK.": {"200": _json(_ref(schema), text)}  # noqa: E731
    created = lambda schema: {"201": _json(_ref(schema), "Created.")}  # noqa: E731
    return {
        "/api/v1/openapi.json": {"get": {
            "summary": "This document", "security": [{}],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}}}},
        f"{REALM}/settings": {
            "parameters": [_param("realm")],
            "get": _op("Realm and MFA settings", ok("RealmSettings"), READ, tags=("settings",)),
            "patch": _op("Change realm and MFA settings (SMS MFA needs an active SMS integration)",
                         ok("RealmSettings"), WRITE, body="RealmSettingsUpdate", tags=("settings",)),
        },
        f"{REALM}/users": {
            "parameters": [_param("realm")],
            "get": _op("List users (paged; filter by part of the email)", ok("UserList"), READ, tags=("users",),
                       parameters=[_query("email", _string(320), "Part of the email."), *PAGING]),
            "post": _op("Create a user", created("User"), WRITE, body="UserCreate", tags=("users",)),
        },
        USER: {
            "parameters": [_param("realm"), _param("user_id")],
            "get": _op("Get a user", ok("User"), READ, tags=("users",)),
            "patch": _op("Update a user (name, email, MFA flag, phone, disabled)", ok("User"), WRITE,
                         body="UserUpdate", tags=("users",)),
            "delete": _op("Delete a user", NO_CONTENT, READ, tags=("users",)),
        },
        f"{USER}/password": {
            "parameters": [_param("realm"), _param("user_id")],
            "put": _op("Set the user's password; ends their sessions and tokens unless keep_sessions",
                       NO_CONTENT, WRITE, body="PasswordSet", tags=("users",)),
        },
        f"{USER}/credentials": {
            "parameters": [_param("realm"), _param("user_id")],
            "get": _op("List credentials (second factors)", ok("CredentialList"), READ, tags=("credentials",)),
            "post": _op("Create a pending credential (totp: otp_secret + provisioning_uri; sms: a phone)",
                        created("Credential"), WRITE, body="CredentialCreate", tags=("credentials",)),
        },
        CREDENTIAL: {
            "parameters": [_param("realm"), _param("user_id"), _param("credential_id")],
            "get": _op("Get a credential", ok("Credential"), READ, tags=("credentials",)),
            "delete": _op("Delete a credential", NO_CONTENT, READ, tags=("credentials",)),
        },
        f"{CREDENTIAL}/verify": {
            "parameters": [_param("realm"), _param("user_id"), _param("credential_id")],
            "post": _op("Activate a pending credential with its first code (sms without code: send one)",
                        {**ok("Credential", "Active."), "202": _json(_ref("CodeSent"), "Code sent.")},
                        (*WRITE, "409", "429"), body="CredentialVerify", body_required=False,
                        tags=("credentials",)),
        },
        f"{USER}/recovery_codes": {
            "parameters": [_param("realm"), _param("user_id")],
            "get": _op("How many recovery codes remain", ok("RecoveryCodesRemaining"), READ, tags=("credentials",)),
            "post": _op("Generate a new set (the plain codes are returned once)", created("RecoveryCodes"),
                        WRITE, tags=("credentials",)),
        },
        "/api/v1/realms": {
            "get": _op("List the realms this key reaches", ok("RealmList"), ("401", "403"), tags=("realms",)),
            "post": _op("Create a realm (server-level key only), with any settings", created("RealmSettings"),
                        ("400", "401", "403", "415", "422"), body="RealmCreate", tags=("realms",)),
        },
        REALM: {
            "parameters": [_param("realm")],
            "get": _op("Get a realm and its settings", ok("RealmSettings"), READ, tags=("realms",)),
        },
        f"{REALM}/clients": {
            "parameters": [_param("realm")],
            "get": _op("List clients (relying apps)", ok("ClientList"), READ, tags=("clients",)),
            "post": _op("Register a client; the answer holds its secret, once", created("ClientWithSecret"), WRITE,
                        body="ClientCreate", tags=("clients",)),
        },
        CLIENT: {
            "parameters": [_param("realm"), _param("client_id")],
            "get": _op("Get a client", ok("Client"), READ, tags=("clients",)),
            "patch": _op("Change a client's name, redirect URIs, grant types, the clients it may introspect, how it "
                         "authenticates or whether it must use DPoP",
                         ok("ClientWithSecret"), WRITE, body="ClientUpdate", tags=("clients",)),
            "delete": _op("Delete a client (its tokens end with it)", NO_CONTENT, READ, tags=("clients",)),
        },
        f"{CLIENT}/secret": {
            "parameters": [_param("realm"), _param("client_id")],
            "post": _op("Rotate the client's secret; the answer holds the new one, once", ok("ClientWithSecret"),
                        (*WRITE, "409"), tags=("clients",)),
        },
        f"{REALM}/initial_access_tokens": {
            "parameters": [_param("realm")],
            "get": _op("List the unexpired initial access tokens for dynamic client registration",
                       ok("InitialAccessTokenList"), READ, tags=("clients",)),
            "post": _op("Create an initial access token (RFC 7591); the answer holds it, once",
                        created("InitialAccessTokenWithToken"), WRITE, body="InitialAccessTokenCreate",
                        body_required=False, tags=("clients",)),
        },
        f"{REALM}/initial_access_tokens/{{token_id}}": {
            "parameters": [_param("realm"), _param("token_id")],
            "delete": _op("Revoke an initial access token (clients registered with it stay)", NO_CONTENT, READ,
                          tags=("clients",)),
        },
        f"{REALM}/providers": {
            "parameters": [_param("realm")],
            "get": _op("List upstream identity providers", ok("ProviderList"), READ, tags=("providers",)),
            "post": _op("Add an upstream identity provider", created("Provider"), WRITE, body="ProviderCreate",
                        tags=("providers",)),
        },
        PROVIDER: {
            "parameters": [_param("realm"), _param("provider_name")],
            "get": _op("Get a provider", ok("Provider"), READ, tags=("providers",)),
            "patch": _op("Change a provider: MFA mode, enabled, and every other option but kind and name",
                         ok("Provider"), WRITE, body="ProviderUpdate", tags=("providers",)),
            "delete": _op("Remove a provider (users' links to it go too)", NO_CONTENT, READ, tags=("providers",)),
        },
        f"{REALM}/api_keys": {
            "parameters": [_param("realm")],
            "get": _op("List the realm's API keys", ok("ApiKeyList"), READ, tags=("api keys",)),
            "post": _op("Create an API key (scopes and expiry within the calling key's); the answer holds its "
                        "secret, once", created("ApiKeyWithSecret"), WRITE, body="ApiKeyCreate", tags=("api keys",)),
        },
        API_KEY_PATH: {
            "parameters": [_param("realm"), _param("key_id")],
            "get": _op("Get an API key", ok("ApiKey"), READ, tags=("api keys",)),
            "delete": _op("Revoke an API key", NO_CONTENT, READ, tags=("api keys",)),
        },
        f"{USER}/sessions": {
            "parameters": [_param("realm"), _param("user_id")],
            "get": _op("List the user's open browser sessions", ok("SessionList"), READ, tags=("users",)),
            "delete": _op("End every session of the user, the logins under way and their apps' tokens",
                          ok("SessionsEnded"), READ, tags=("users",)),
        },
        f"{USER}/sessions/{{session_id}}": {
            "parameters": [_param("realm"), _param("user_id"), _param("session_id")],
            "delete": _op("End one browser session and the tokens issued in it", NO_CONTENT, READ, tags=("users",)),
        },
        f"{REALM}/sms_integrations": {
            "parameters": [_param("realm")],
            "get": _op("List SMS integrations", ok("SmsIntegrationList"), READ, tags=("sms integrations",)),
            "post": _op("Add an SMS integration", created("SmsIntegration"), WRITE, body="SmsIntegrationCreate",
                        tags=("sms integrations",)),
        },
        INTEGRATION: {
            "parameters": [_param("realm"), _param("integration_id")],
            "get": _op("Get an SMS integration", ok("SmsIntegration"), READ, tags=("sms integrations",)),
            "patch": _op("Activate, deactivate or change settings", ok("SmsIntegration"), (*WRITE, "409"),
                         body="SmsIntegrationUpdate", tags=("sms integrations",)),
            "delete": _op("Remove an SMS integration", NO_CONTENT, (*READ, "409"), tags=("sms integrations",)),
        },
        f"{REALM}/audit_events": {
            "parameters": [_param("realm")],
            "get": _op("List audit events, newest first", ok("AuditEventList"), READ, tags=("audit",), parameters=[
                _query("user_id", _string(64), "Only this user's events."),
                _query("type", _string(64), "Only events of this type, such as login.succeeded."),
                _query("since", _string(format="date-time"), "At or after this time."),
                _query("until", _string(format="date-time"), "Before this time."),
                *PAGING]),
        },
        f"{REALM}/sessions/authenticate": {
            "parameters": [_param("realm")],
            "post": _op("Log in with email and password: full_login or needs_mfa", ok("LoginResult"),
                        ("400", "401", "403", "404", "415", "422", "429"), body="LoginRequest", security=PUBLIC,
                        tags=("sessions",)),
        },
        f"{REALM}/sessions/send_code": {
            "parameters": [_param("realm")],
            "post": _op("Text an SMS code for a needs_mfa login", ok("CodeSentForLogin"),
                        ("400", "404", "415", "422", "429"), body="SendCodeRequest", security=[{}],
                        tags=("sessions",)),
        },
        f"{REALM}/sessions/complete_mfa": {
            "parameters": [_param("realm")],
            "post": _op("Complete a needs_mfa login with a TOTP, SMS or recovery code", ok("FullLogin"),
                        ("400", "401", "403", "404", "415", "422", "429"), body="CompleteMfaRequest",
                        security=PUBLIC, tags=("sessions",)),
        },
    }


def _with_scopes(paths: dict) -> dict:
    """Each operation that needs an API key names the scope it needs (``access.required_scope``,
    the same function that checks it), in its security requirement and its description."""
    for path, item in paths.items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            if operation.get("security") != API_KEY:
                operation["operationId"] = PUBLIC_OPERATIONS[path.rsplit("/", 1)[1]]
                continue
            scope = required_scope(path, method)
            operation["security"] = [{"apiKey": [scope]}]
            operation["description"] = f"Needs an API key with the scope `{scope}`."
            operation["operationId"] = _operation_id(path, method)
    return paths


PUBLIC_OPERATIONS = {"openapi.json": "get_openapi_document", "authenticate": "authenticate_with_password",
                     "send_code": "send_login_code", "complete_mfa": "complete_mfa_login"}
#: Operations whose verb is not the method's usual one.
ACTIONS = {("post", "secret"): "rotate", ("post", "verify"): "verify", ("delete", "sessions"): "end",
           ("put", "password"): "set", ("post", "recovery_codes"): "generate", ("post", "test"): "send",
           ("post", "redeliver"): "redeliver"}
#: Segments that name one thing, not a collection.
SINGLETONS = ("settings", "password", "secret", "verify", "recovery_codes")


def _singular(segment: str) -> str:
    if segment.endswith("ies"):
        return segment[:-3] + "y"
    return segment[:-1] if segment.endswith("s") and segment not in SINGLETONS else segment


def _operation_id(path: str, method: str) -> str:
    """A stable name for generated clients (``list_users``, ``get_user``, ``rotate_client_secret``),
    from the method and the path's static segments."""
    parts = [part for part in path.removeprefix("/api/v1/").split("/") if part and not part.startswith("{")]
    if parts[0] == "realms" and len(parts) > 1:
        parts = parts[1:]
    item = path.endswith("}")
    last = parts[-1]
    verb = ACTIONS.get((method, last)) or {
        "get": "get" if item or last in SINGLETONS else "list", "post": "create", "patch": "update",
        "put": "set", "delete": "delete"}[method]
    if verb == "end" and item:
        last = "session"
    elif verb != "end" and (item or verb in ("create", "update", "delete") or last == "settings"):
        last = _singular(last)
    if last == "settings":
        parts = ["realm", *parts]
    words = [_singular(part) for part in parts[:-1]] + [last]
    if verb in ("verify", "redeliver"):
        words = words[:-1]
    return "_".join([verb, *words])


def openapi_document(server_url: str = "") -> dict:
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "idp management API and direct-to-API login",
            "version": "1",
            "description": (
                "Realm routes need an API key (`idp api-keys create --realm R --name N --scope S`, or "
                "`--server` for every realm) sent as `Authorization: Bearer <key>`, with the scope each operation "
                "names. The sessions routes need none: a browser calls them through "
                "idp.js, or an app's back end with its client credentials to also get its OIDC tokens. "
                "Errors are `{\"error\", \"error_description\", \"fields\"}`."),
        },
        "paths": _with_scopes(_paths()),
        "components": {
            "schemas": {**SCHEMAS, **_sms_integration_schemas()},
            "parameters": dict(PARAMETERS),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": (
                    "An API key (idpk_...): a realm's, or a server-level one that works in every realm. Each "
                    "operation names the scope it needs. Scopes: "
                    + "; ".join(f"`{scope}`: {text}" for scope, text in SCOPES.items())
                    + " A write scope includes reading the same resources.")},
                "clientSecretBasic": {"type": "http", "scheme": "basic",
                                      "description": "A confidential client's id and secret (client_secret_basic)."},
            },
        },
    }
    from .organizations_openapi import add_organizations
    from .webhooks_openapi import add_webhooks

    add_webhooks(document)
    add_organizations(document)
    if server_url:
        document["servers"] = [{"url": server_url}]
    return _with_factor_names(document)


def _sms_integration_schemas() -> dict:
    """One schema per SMS provider, from its spec, under ``SmsIntegration`` and
    ``SmsIntegrationCreate`` with a discriminator on ``kind``; secret fields are write-only.
    ``SmsIntegrationUpdate`` has every provider's fields (the integration's own apply): a field
    left out is kept, null clears it."""
    from flask import current_app, has_app_context

    from ..sms.registry import shipped_providers

    specs = current_app.extensions["idp.sms_providers"].all() if has_app_context() else shipped_providers()
    schemas: dict = {}
    schemas["SmsIntegrationUpdate"] = _object({"active": {"type": "boolean"}, **{
        f.name: _nullable(_string(f.max_length, description=f"{spec.label}: {f.label}. {f.help}".strip(),
                                  **({"writeOnly": True} if f.secret else {})))
        for spec in specs for f in spec.fields}})
    for suffix in ("", "Create"):
        mapping = {}
        for spec in specs:
            name = f"{spec.kind.title().replace('_', '')}SmsIntegration{suffix}"
            mapping[spec.kind] = f"#/components/schemas/{name}"
            kind = {"type": "string", "enum": [spec.kind], "description": spec.label}
            if suffix:
                fields = {f.name: _nullable(_string(f.max_length, description=f"{f.label}. {f.help}".strip(),
                                                    **({"writeOnly": True} if f.secret else {})))
                          for f in spec.fields}
                required = ("kind", "name", *(f.name for f in spec.fields if f.required))
                schemas[name] = _object({"kind": kind, "name": _string(100), "active": {"type": "boolean"},
                                         **fields}, required)
            else:
                fields = {f.name: _nullable(_string(description=f.label)) for f in spec.fields if not f.secret}
                schemas[name] = _object({"id": {"type": "integer"}, "name": _string(), "kind": kind,
                                         "active": {"type": "boolean"}, **fields,
                                         "created_at": _string(format="date-time")},
                                        ("id", "name", "kind", "active", "created_at"))
        schemas[f"SmsIntegration{suffix}"] = {
            "oneOf": [{"$ref": ref} for ref in mapping.values()],
            "discriminator": {"propertyName": "kind", "mapping": mapping},
        }
    return schemas


def _with_factor_names(document: dict) -> dict:
    """The factor enums name the installation's factors (``[mfa] factors``), not a fixed list."""
    import copy

    from flask import current_app, has_app_context

    if not has_app_context():
        return document
    factors = current_app.extensions["idp.mfa_factors"]
    credentials, logins = factors.kinds(include_backup=False), factors.kinds()
    schemas = document["components"]["schemas"] = copy.deepcopy(document["components"]["schemas"])
    for schema in schemas.values():
        for name, prop in (schema.get("properties") or {}).items():
            if name == "credential_type" and "enum" in prop:
                prop["enum"] = credentials
            elif name in ("factor", "factors"):
                target = prop.get("items", prop)
                if "enum" in target:
                    target["enum"] = logins if "recovery" in target["enum"] else credentials
    return document


@api_bp.get("/openapi.json")
@public
def openapi():
    from ..oidc.issuer import public_base_url

    response = jsonify(openapi_document(public_base_url()))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

