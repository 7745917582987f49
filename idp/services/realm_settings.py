"""Every realm setting, declared once.

Each ``RealmSetting`` says what a setting is (its ``Realm`` column, kind, bounds), how it is
checked, and how each surface spells and explains it. The surfaces are generated from this
list, never written out by hand:

- the CLI's ``idp realms create`` / ``idp realms set`` options and ``idp realms show``
  (``idp.cli``): ``cli_name`` is the flag (``--mfa``) and the key ``realms show`` prints;
- the management API's settings body, its validation and its OpenAPI schema
  (``idp.api.management``, ``idp.api.openapi``): the API field is ``name``;
- the admin console's realm settings form (``idp.admin.forms``, ``realm_settings.html``),
  grouped by ``group``.

``validate`` is the one rule for a value whatever surface sent it; ``apply_realm_settings``
(``mfa_policy``) then adds the rules between settings (SMS MFA needs an active SMS
integration).

To add a setting: a ``Realm`` column and its migration, then one entry here."""
from __future__ import annotations

from dataclasses import dataclass

from . import ServiceError

#: What a realm may ask as its minimum password length (NIST: at least 8; 128 keeps
#: passphrases usable).
MIN_LENGTH_RANGE = (8, 128)
#: "Remember this device": 0 (off) up to a year.
MAX_REMEMBER_DEVICE_DAYS = 365
#: Token lifetimes a realm may set, in seconds (30 seconds to a year).
LIFETIME_RANGE = (30, 31536000)

KINDS = ("boolean", "integer", "text", "countries", "theme")


@dataclass(frozen=True)
class RealmSetting:
    """One realm setting.

    ``kind``: ``boolean`` (a switch, ``on``/``off`` on the command line), ``integer``, ``text``,
    ``countries`` (two-letter ISO 3166 codes) or ``theme`` (the name of an installed theme).
    ``server_default``: where null takes its value from, as ``section.key`` of the server's
    settings (token lifetimes); a setting with one may be null. ``negatable``: the CLI also
    takes ``--NAME`` alone for on and ``--no-NAME`` for off. ``cli_help`` overrides ``help`` on
    the command line, where the console's wording would not fit."""

    name: str
    kind: str
    label: str
    help: str = ""
    group: str = "General"
    subgroup: str | None = None
    cli_name: str | None = None
    cli_help: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    unit: str = ""
    max_length: int = 200
    max_items: int = 300
    server_default: str | None = None
    negatable: bool = False

    def __post_init__(self):
        assert self.kind in KINDS, self.kind

    @property
    def nullable(self) -> bool:
        return self.server_default is not None

    def default_from(self, settings) -> object:
        """The server's value that null stands for (``settings``: the instance's ``Settings``)."""
        section, _, key = self.server_default.partition(".")
        return getattr(getattr(settings, section), key)

    @property
    def cli_key(self) -> str:
        """The key ``idp realms show`` prints, and the flag's name without ``--``."""
        return self.cli_name or self.name

    @property
    def flag(self) -> str:
        return "--" + self.cli_key.replace("_", "-")

    @property
    def command_line_help(self) -> str:
        return self.cli_help if self.cli_help is not None else self.help

    def range_text(self) -> str:
        low = f"{self.minimum} (off)" if self.minimum == 0 else str(self.minimum)
        return f"between {low} and {self.maximum}"

    def validate(self, value):
        """The value to store, or ``ServiceError`` on this setting's field."""
        if self.kind == "boolean":
            if not isinstance(value, bool):
                raise ServiceError(f"{self.name} must be true or false", field=self.name)
            return value
        if self.kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int) or \
                    not self.minimum <= value <= self.maximum:
                raise ServiceError(f"{self.name} must be a number of {self.unit} {self.range_text()}",
                                   field=self.name)
            return value
        if self.kind == "text":
            value = (value if isinstance(value, str) else "").strip()
            if not value or len(value) > self.max_length:
                raise ServiceError(f"{self.name.replace('_', ' ')} must be 1-{self.max_length} characters",
                                   field=self.name)
            return value
        if self.kind == "theme":
            from ..themes import theme_exists

            if not isinstance(value, str) or len(value) > self.max_length or not theme_exists(value):
                raise ServiceError(f"theme '{str(value)[:64]}' does not exist", field=self.name)
            return value
        from .phones import is_phone_country

        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple) or len(value) > self.max_items:
            raise ServiceError(f"{self.name} must be a list of at most {self.max_items} country codes",
                               field=self.name)
        codes = sorted({str(c).strip().upper() for c in value if str(c).strip()})
        unknown = [c for c in codes if not is_phone_country(c)]
        if unknown:
            named = ", ".join(c[:8] for c in unknown[:5])
            raise ServiceError(f"{named}: not a country with phone numbers; countries are two-letter "
                               "ISO 3166 codes, such as US or GB", field=self.name)
        return codes


def _switch(name, label, help="", **kw) -> RealmSetting:
    return RealmSetting(name, "boolean", label, help, **kw)


def _lifetime(name, label, cli_help) -> RealmSetting:
    return RealmSetting(name, "integer", label, group="Token lifetimes", minimum=LIFETIME_RANGE[0],
                        maximum=LIFETIME_RANGE[1], unit="seconds", server_default=f"tokens.{name}",
                        help="Empty: the server default.", cli_help=cli_help)


TWO_FACTOR = "Two-factor authentication"
SECOND_FACTORS = "Second factors"
PASSWORDS = "Passwords"
PASSKEYS = "Passkeys"
LIFE_CYCLE = "Account life cycle"

REALM_SETTINGS: tuple[RealmSetting, ...] = (
    RealmSetting("display_name", "text", "Display name", "What users see on the login pages."),
    _switch("registration_enabled", "Allow self-registration",
            "People can create their own account from the login page.", cli_name="registration",
            cli_help="Allow self-registration."),
    RealmSetting("theme", "theme", "Theme", "The look of the hosted pages.", max_length=64),
    _switch("mfa_enabled", "Two-factor authentication (master switch)",
            "When this is off nobody is asked for a second factor, even users who have two-factor "
            "authentication turned on.", group=TWO_FACTOR, cli_name="mfa",
            cli_help="Two-factor authentication master switch."),
    _switch("mfa_login_form", "Two-factor Authentication on the login form",
            "Users who have two-factor authentication on enter a code after their password.",
            group=TWO_FACTOR, subgroup="Form Configuration"),
    _switch("mfa_registration_form", "Two-factor Authentication on the registration form",
            "New users enrol a second factor (their phone number) right after registering. This affects new "
            "users only; turn it on for existing users on their User Details page.",
            group=TWO_FACTOR, subgroup="Form Configuration",
            cli_help="New users enrol a second factor right after registering."),
    _switch("mfa_required", "Require two-factor authentication from every user",
            "Users without a second factor set one up at their next login.", group=TWO_FACTOR,
            cli_help="Every user must enrol."),
    _switch("users_may_toggle_mfa", "Users may turn two-factor authentication on and off",
            "From their account page (ignored while it is required).", group=TWO_FACTOR,
            cli_help="Users may turn two-factor authentication on and off from their account page."),
    _switch("sms_enabled", "SMS codes", "Codes sent by text message. Needs at least one active SMS integration.",
            group=SECOND_FACTORS, cli_name="sms", cli_help="SMS factor (needs an active SMS integration)."),
    RealmSetting("sms_allowed_countries", "countries", "Allowed countries for text messages",
                 "Two-letter country codes separated by commas, such as US, GB. Leave empty to allow every country.",
                 group=SECOND_FACTORS, max_length=8, cli_help="Comma-separated ISO codes; empty for all."),
    _switch("totp_enabled", "Authenticator apps", "Codes from an app such as Google Authenticator (TOTP).",
            group=SECOND_FACTORS, cli_name="totp", cli_help="Authenticator-app factor."),
    _switch("passkey_sign_in", "Sign in with a passkey",
            'The login page offers "Sign in with a passkey" and passkeys in the email field\'s autofill. A '
            "user-verified passkey is multi-factor on its own: no password and no second step. Needs the "
            "passkey factor (webauthn) in the realm's factors.", group=PASSKEYS,
            cli_help="Offer passkey sign-in on the login page (needs webauthn in --factors)."),
    _switch("passkey_user_verification_required", "Require user verification",
            "Every passkey ceremony must verify the user on the device (PIN, fingerprint, face). When this is off "
            "it is preferred: a security key without a PIN still works as a second factor, but then a passkey "
            "sign-in is one factor and the login asks for a second one.", group=PASSKEYS, negatable=True,
            cli_help="Passkey ceremonies require user verification (else preferred)."),
    _switch("passkey_offer_after_login", "Offer a passkey after login",
            'After a password and second-factor login, offer "Create a passkey for faster sign-in" once to '
            "users without a passkey (they may dismiss it; it is not offered again).", group=PASSKEYS,
            cli_help="Offer once to create a passkey after a password + second-factor login."),
    RealmSetting("password_min_length", "integer", "Minimum password length (characters)",
                 "Between 8 and 128. Length is what makes a password hard to guess (NIST SP 800-63B), so there "
                 "are no rules about digits or symbols. Existing passwords keep working; the minimum applies when "
                 "a password is chosen.", group=PASSWORDS, minimum=MIN_LENGTH_RANGE[0],
                 maximum=MIN_LENGTH_RANGE[1], unit="characters",
                 cli_help="Shortest password accepted, 8 to 128 characters."),
    _switch("password_block_common", "Refuse common passwords",
            "Passwords on the bundled list of the most common ones, such as 123456 or password, are refused.",
            group=PASSWORDS, negatable=True,
            cli_help="Refuse passwords on the bundled list of common passwords."),
    _switch("password_block_email", "Refuse passwords that contain the email address",
            "The password may not be the email address, nor contain the part before the @ when that part has "
            "4 characters or more.", group=PASSWORDS, negatable=True,
            cli_help="Refuse the email address, or a password containing its first part (4+ characters)."),
    _switch("require_email_verification", "Require a verified email address",
            'After registering, people get a link by mail. Until they open it, their login stops at "Check your '
            'inbox" and apps get no token for them. When this is off the link still verifies the address, but '
            "nobody has to wait for it.", group=LIFE_CYCLE,
            cli_help="No token until the user verified their email address."),
    RealmSetting("remember_device_days", "integer", "Remember devices for (days)",
                 'After a second factor, the code page offers "Remember this device" for this many days; that '
                 "browser then skips the code at login. 0 turns it off. A new password or factor forgets every "
                 'device, and so does "Forget remembered devices" on a user\'s page.', group=LIFE_CYCLE,
                 minimum=0, maximum=MAX_REMEMBER_DEVICE_DAYS, unit="days",
                 cli_help="Offer 'Remember this device' for N days after a second factor; 0 turns it off."),
    _lifetime("access_token_lifetime", "Access token lifetime (seconds)", "Seconds an access token is valid."),
    _lifetime("id_token_lifetime", "ID token lifetime (seconds)", "Seconds an ID token is valid."),
    _lifetime("refresh_token_lifetime", "Refresh token lifetime (seconds)", "Seconds a refresh token is valid."),
    _switch("require_pushed_authorization_requests", "Require pushed authorization requests",
            "Every app must post its authorization request to the pushed authorization request endpoint "
            "first (RFC 9126) and send the browser with the request_uri it gets back; a plain authorization "
            "request is refused. A single app can be made to require it too.", group="Protocol",
            cli_name="require_par", cli_help="Every client must push its authorization requests first (RFC 9126)."),
    _switch("dynamic_client_registration", "Dynamic client registration",
            "Apps may register themselves at the registration endpoint (RFC 7591) with an initial access token "
            "from the Clients page, and then read, update and delete their own registration (RFC 7592). They "
            "may not use the client credentials grant, and their redirect URIs must use https (http only on "
            "localhost).", group="Protocol", cli_name="dynamic_registration",
            cli_help="Apps may register themselves at /register with an initial access token (RFC 7591)."),
    _switch("anonymous_client_registration", "Allow registration without an initial access token",
            "Anyone may register an app (needs dynamic client registration on). Such apps are capped in number, "
            "limited per network, and deleted after a time unless an administrator keeps them.", group="Protocol",
            cli_name="anonymous_registration",
            cli_help="Anyone may register an app without an initial access token (capped, expiring)."),
)

#: What a group of settings is about, where its settings' own help does not say it.
GROUP_HELP = {
    TWO_FACTOR: "The master switch must be on for any of the settings below to ask for a second factor.",
    "Form Configuration": "Enable two-factor authentication for each form variant individually.",
    PASSWORDS: "Checked whenever a password is chosen: at registration, on a password reset, and when an "
               "administrator or the API sets one.",
}

SETTINGS_BY_NAME = {setting.name: setting for setting in REALM_SETTINGS}
#: The console's fieldsets, in order.
GROUPS = tuple(dict.fromkeys(setting.group for setting in REALM_SETTINGS))


def settings_layout() -> list[tuple[str, list[tuple[str | None, list[RealmSetting]]]]]:
    """The settings by group, and within a group in runs by subgroup (None: none), in the
    list's order: what a form of every setting shows."""
    layout: dict[str, list[tuple[str | None, list[RealmSetting]]]] = {}
    for setting in REALM_SETTINGS:
        runs = layout.setdefault(setting.group, [])
        if runs and runs[-1][0] == setting.subgroup:
            runs[-1][1].append(setting)
        else:
            runs.append((setting.subgroup, [setting]))
    return list(layout.items())


def settings_of_kind(*kinds: str) -> tuple[str, ...]:
    return tuple(s.name for s in REALM_SETTINGS if s.kind in kinds)


def realm_setting(name: str) -> RealmSetting:
    setting = SETTINGS_BY_NAME.get(name)
    if setting is None:
        raise ServiceError(f"unknown realm setting '{name}'", field=name)
    return setting


def realm_setting_values(realm) -> dict:
    """Every setting's current value, by ``name``."""
    values = {}
    for setting in REALM_SETTINGS:
        value = getattr(realm, setting.name)
        if setting.kind == "boolean":
            value = bool(value)
        elif setting.kind == "countries":
            value = list(value or [])
        values[setting.name] = value
    return values
