"""Settings: a TOML file (``IDP_CONFIG``) over defaults, then ``IDP_<SECTION>_<KEY>`` overrides.

Every key has a default here, and ``config.example.toml`` documents the same keys. A key that is
unknown or of the wrong type stops start-up with a message naming the key and where it came from;
so does an ``IDP_`` environment variable that looks like a setting but is none (a typo would
otherwise leave the default in force without a word).
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(Exception):
    """A setting is unknown or has a value of the wrong type."""


@dataclass
class ServerSettings:
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 5000
    trusted_proxies: int = 0
    secret_key: str = ""
    express_lanes: bool = True


@dataclass
class DatabaseSettings:
    url: str = ""


@dataclass
class RedisSettings:
    url: str = ""


@dataclass
class SecuritySettings:
    encryption_key: str = ""
    token_hash_key: str = ""
    argon2_time_cost: int = 2
    argon2_memory_cost: int = 19456
    argon2_parallelism: int = 1
    form_rate_limit: str = "30 per minute; 300 per hour"
    login_transaction_rate_limit: str = "120 per minute; 1200 per hour"
    #: Wrong device user codes a network may enter (RFC 8628 §5.1).
    user_code_rate_limit: str = "10 per 10 minutes"


@dataclass
class TokenSettings:
    access_token_lifetime: int = 600
    id_token_lifetime: int = 3600
    refresh_token_lifetime: int = 2592000
    authorization_code_lifetime: int = 60
    #: RFC 8628: how long a device's codes stay valid, and how often it may poll (seconds).
    device_code_lifetime: int = 600
    device_code_interval: int = 5
    #: RFC 9449: how far (seconds) a DPoP proof's ``iat`` may be from now, either way; its
    #: ``jti`` is remembered twice as long to refuse a replay.
    dpop_proof_max_age: int = 60
    #: RFC 9449 §8: every DPoP proof must carry a nonce this server issued (``DPoP-Nonce``).
    dpop_require_nonce: bool = False
    #: DPoP proofs remembered at most (when they are kept in the database, not in Redis); past
    #: it new proofs are refused with 503 until the oldest expire.
    dpop_max_remembered_proofs: int = 100000
    #: DPoP proofs of public clients (which anyone can make: their ``client_id`` is public)
    #: remembered per client network; a confidential client authenticates first and is not
    #: counted. Flask-Limiter's syntax; "" for none.
    dpop_public_client_rate_limit: str = "300 per minute; 3000 per hour"


@dataclass
class LoginSettings:
    transaction_lifetime: int = 600
    session_lifetime: int = 1209600
    password_min_length: int = 8
    max_failed_passwords: int = 10
    failed_passwords_window: int = 900
    password_lockout_seconds: int = 900
    #: The login stages in the order they run (``idp.login.stages``); each named at most once. A
    #: stage left out runs where this default puts it (a warning says so).
    stage_order: str = "password mfa verify_email organization consent"


@dataclass
class MfaSettings:
    #: The second factors this installation offers (each a package ``idp.mfa.<kind>``), in the
    #: order logins prefer them; a realm enables some of them.
    factors: list = field(default_factory=lambda: ["webauthn", "totp", "sms", "email", "recovery"])
    otp_lifetime: int = 300
    otp_max_attempts: int = 5
    resend_cooldown: int = 30
    max_failed_attempts: int = 10
    lockout_seconds: int = 900
    #: Wrong codes a credential being enrolled accepts before it must be started again (its own
    #: count: enrolling never uses up the login lock's).
    enrolment_max_attempts: int = 5
    sms_per_account_per_hour: int = 5
    sms_per_account_per_day: int = 20
    sms_per_ip_per_hour: int = 20
    sms_per_ip_per_day: int = 100
    distinct_numbers_per_ip_per_day: int = 5
    distinct_countries_per_ip_per_day: int = 2
    #: Seconds within which our second factor must have been verified in a session for the
    #: account page to change factors, recovery codes or linked accounts.
    step_up_window: int = 600


@dataclass
class SmsSettings:
    #: The SMS providers this installation offers (each a package ``idp.sms.<kind>``); a realm
    #: adds integrations of these kinds.
    providers: list = field(default_factory=lambda: ["outbox", "twilio", "webhook"])
    outbox_file: str = "sms-outbox.jsonl"
    twilio_auth_token: str = ""


@dataclass
class MailSettings:
    backend: str = "outbox"
    from_address: str = "no-reply@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_ssl_tls: bool = False
    smtp_timeout: int = 10
    outbox_file: str = "mail-outbox.jsonl"


@dataclass
class MaintenanceSettings:
    purge_interval: int = 300
    sms_message_retention_days: int = 90
    audit_event_retention_days: int = 365


@dataclass
class WebhookSettings:
    allow_private_targets: bool = False
    allow_http: bool = False
    timeout_seconds: int = 10
    max_response_bytes: int = 65536
    first_retry_seconds: int = 5
    max_retry_interval_seconds: int = 14400
    retry_window_hours: int = 24
    delivery_retention_days: int = 30
    worker_concurrency: int = 4
    worker_poll_seconds: int = 1


@dataclass
class ClientKeySettings:
    """Clients' public keys published at a ``jwks_uri`` (``idp.oidc.client_keys``)."""

    allow_private_jwks_uri: bool = False
    allow_http_jwks_uri: bool = False
    fetch_timeout_seconds: int = 5
    max_jwks_bytes: int = 65536
    min_cache_seconds: int = 60
    max_cache_seconds: int = 86400
    refetch_interval_seconds: int = 30


@dataclass
class ThemeSettings:
    dir: str = ""


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    login: LoginSettings = field(default_factory=LoginSettings)
    mfa: MfaSettings = field(default_factory=MfaSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    maintenance: MaintenanceSettings = field(default_factory=MaintenanceSettings)
    themes: ThemeSettings = field(default_factory=ThemeSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    client_keys: ClientKeySettings = field(default_factory=ClientKeySettings)


#: ``IDP_`` variables that are not settings: the CLI's own options and secrets it reads for one
#: command, deploy/gunicorn.conf.py's, and those of the test suite and the benchmark.
NON_SETTING_VARIABLES = frozenset({
    "IDP_CONFIG", "IDP_INSTANCE",
    "IDP_TWILIO_AUTH_TOKEN", "IDP_PROVIDER_CLIENT_SECRET",
    "IDP_BIND", "IDP_WORKERS", "IDP_THREADS", "IDP_ACCESS_LOG",
})
NON_SETTING_PREFIXES = ("IDP_TEST_", "IDP_BENCH_")


def _coerce(value, default, where: str):
    expected = type(default)
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str):
                try:
                    return int(value)
                except ValueError:
                    pass
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if expected is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "on", "yes", "0", "false", "off", "no"):
            return value.lower() in ("1", "true", "on", "yes")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if expected is list:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def load_settings(config_path: str | os.PathLike | None = None, environ=None) -> Settings:
    """Build the settings from defaults, the TOML file and the environment."""
    environ = os.environ if environ is None else environ
    settings = Settings()
    sections = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}

    if config_path:
        path = Path(config_path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        for section_name, values in data.items():
            if section_name not in sections:
                raise ConfigError(f"{path}: unknown section [{section_name}]")
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: [{section_name}] must be a table")
            section = sections[section_name]
            for key, value in values.items():
                if not hasattr(section, key):
                    raise ConfigError(f"{path}: unknown key '{section_name}.{key}'")
                where = f"{path}: key '{section_name}.{key}'"
                setattr(section, key, _coerce(value, getattr(section, key), where))

    known = set()
    for section_name, section in sections.items():
        for f in dataclasses.fields(section):
            var = f"IDP_{section_name.upper()}_{f.name.upper()}"
            known.add(var)
            if var in environ:
                where = f"environment variable {var}"
                setattr(section, f.name, _coerce(environ[var], getattr(section, f.name), where))
    _refuse_unknown_setting_variables(environ, known, [name.upper() for name in sections])
    return settings


def _refuse_unknown_setting_variables(environ, known: set[str], section_names: list[str]) -> None:
    """An ``IDP_`` variable that is no setting is an error when it looks like one: it starts with
    a section's prefix (``IDP_SERVER_PROT``), names a key without its section
    (``IDP_ENCRYPTION_KEY``) or is a near miss of a setting (``IDP_SEVER_PORT``). Other ``IDP_``
    names (``IDP_WORKERS`` of the gunicorn config) belong to someone else."""
    for var in sorted(environ):
        if not var.startswith("IDP_") or var in known or var in NON_SETTING_VARIABLES \
                or var.startswith(NON_SETTING_PREFIXES):
            continue
        same_key = [name for name in known if name.endswith(var[3:])]
        near = difflib.get_close_matches(var, same_key or known, n=1, cutoff=0 if same_key else 0.8)
        if near or any(var.startswith(f"IDP_{section}_") for section in section_names):
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise ConfigError(f"environment variable {var} is not a setting{hint}: settings are "
                              "IDP_<SECTION>_<KEY> of the keys in config.example.toml")
