"""The console's forms. Every label names its control on its own (the browser tests find
controls by label), and every form carries its CSRF token (Flask-WTF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SelectMultipleField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from ..services.api_key_scopes import SCOPES
from ..services.realm_settings import REALM_SETTINGS


class ButtonForm(FlaskForm):
    """Nothing but the CSRF token: one-button actions (activate, rotate, lock)."""


class RealmCreateForm(FlaskForm):
    name = StringField("Realm name", validators=[DataRequired("Give the realm a name."), Length(max=63)],
                       description="Lowercase letters, digits and hyphens; it appears in URLs, for example "
                                   "/realms/acme/authorize.")
    display_name = StringField("Display name", validators=[Optional(), Length(max=200)],
                               description="What users see on the login pages. Leave empty to derive it from the name.")


def _setting_field(setting):
    """The console control of a realm setting (``services.realm_settings``)."""
    if setting.kind == "boolean":
        return BooleanField(setting.label, description=setting.help)
    if setting.kind == "integer":
        message = f"Give a number of {setting.unit} {setting.range_text()}."
        return IntegerField(setting.label, description=setting.help, render_kw={"inputmode": "numeric"},
                            validators=[Optional(), NumberRange(min=setting.minimum, max=setting.maximum,
                                                                message=message)])
    if setting.kind == "theme":
        return SelectField(setting.label, choices=[], description=setting.help)
    if setting.kind == "countries":
        return StringField(setting.label, validators=[Length(max=2000)], description=setting.help)
    return StringField(setting.label, description=setting.help,
                       validators=[DataRequired(f"Give the realm a {setting.label.lower()}."),
                                   Length(max=setting.max_length)])


class RealmSettingsBase(FlaskForm):
    def changes(self) -> dict:
        """The realm settings this form sets, as ``update_realm`` takes them. An empty number
        leaves the setting as it is."""
        changes = {}
        for setting in REALM_SETTINGS:
            data = self[setting.name].data
            if setting.kind == "boolean":
                changes[setting.name] = bool(data)
            elif setting.kind == "countries":
                changes[setting.name] = [c for c in (data or "").split(",") if c.strip()]
            elif data is not None:
                changes[setting.name] = data
        return changes


#: Every realm setting, one control each, in the list's order.
RealmSettingsForm = type("RealmSettingsForm", (RealmSettingsBase,),
                         {setting.name: _setting_field(setting) for setting in REALM_SETTINGS})


class SmsIntegrationBase(FlaskForm):
    name = StringField("Integration name", validators=[DataRequired("Give the integration a name."), Length(max=100)])
    active = BooleanField("Activate now")


def sms_integration_form(providers) -> type[FlaskForm]:
    """The "Add an SMS integration" form of these providers (``idp.sms.base.ProviderSpec``): a
    choice of provider and every provider's fields, a secret one as a password input."""
    fields = {"kind": SelectField("Provider", choices=[SelectChoice(spec.kind, spec.choice_label or spec.label)
                                                       for spec in providers])}
    for spec in providers:
        for spec_field in spec.fields:
            control = PasswordField if spec_field.secret else StringField
            fields[spec_field.name] = control(spec_field.label, validators=[Optional(), Length(max=spec_field.max_length)],
                                              description=spec_field.help)
    return type("SmsIntegrationForm", (SmsIntegrationBase,), fields)


def sms_settings_form(spec) -> type[FlaskForm]:
    """One integration's "Change settings" form: its provider's fields, the secret left blank
    to keep the stored one (it is never shown back)."""
    fields = {}
    for spec_field in spec.fields:
        if spec_field.secret:
            fields[spec_field.name] = PasswordField(spec_field.label, validators=[Optional(), Length(max=spec_field.max_length)],
                                                    description="Leave blank to keep the stored one.")
        else:
            fields[spec_field.name] = StringField(spec_field.label, validators=[Optional(), Length(max=spec_field.max_length)],
                                                  description=spec_field.help)
    return type("SmsSettingsForm", (FlaskForm,), fields)


MFA_MODE_CHOICES = [
    SelectChoice("skip", "Skip: never ask for ours"),
    SelectChoice("upstream", "Upstream: ours unless the provider did one"),
    SelectChoice("require", "Require: always ask for ours"),
]
MFA_MODE_HELP = ("Whether a login through this provider must also pass this realm's second factor. Upstream: "
                 "not when the provider's ID token carries one of the allowed values below.")
MFA_AMR_HELP = ("Upstream mode: amr values that count as a second factor done at the provider (exact strings, "
                "separated by spaces or lines). With no amr and no acr value, upstream mode allows mfa.")
MFA_ACR_HELP = "Upstream mode: acr values that count as a second factor done at the provider (exact strings)."


class ProviderSettingsForm(FlaskForm):
    """The settings of a login provider that can change after it is added (``update_provider``)."""

    display_name = StringField("Display name", validators=[Length(max=100)],
                               description='The button on the login page says "Continue with" this name.')
    issuer = StringField("Issuer URL", validators=[Length(max=500)],
                         description="The provider's OpenID Connect issuer (not used for GitHub).")
    client_id = StringField("Client ID", validators=[Length(max=500)],
                            description="The client id this realm has at the provider.")
    client_secret = PasswordField("Client secret", validators=[Length(max=2000)],
                                  description="Stored encrypted; never shown again.")
    scope = StringField("Scope", validators=[Length(max=500)])
    mfa_mode = SelectField("Two-factor authentication after this provider", choices=MFA_MODE_CHOICES, default="skip",
                           description=MFA_MODE_HELP)
    upstream_mfa_amr = TextAreaField("Allowed upstream amr values", validators=[Length(max=5000)],
                                     description=MFA_AMR_HELP)
    upstream_mfa_acr = TextAreaField("Allowed upstream acr values", validators=[Length(max=5000)],
                                     description=MFA_ACR_HELP)
    trust_email = BooleanField("Trust the provider's verified email addresses",
                               description="On: an address the provider says is verified counts as proven. Off: a "
                                           "link we mail proves it before an existing account is linked.")
    enabled = BooleanField("Enabled", description="Shown on the login page and usable.")


class ProviderAddForm(ProviderSettingsForm):
    kind = SelectField("Kind", choices=[
        SelectChoice("google", "Google"), SelectChoice("microsoft", "Microsoft"), SelectChoice("apple", "Apple"),
        SelectChoice("github", "GitHub"), SelectChoice("oidc", "OpenID Connect (any provider)")])
    name = StringField("Provider name", validators=[DataRequired("Give the provider a name."), Length(max=63)],
                       description="Lowercase letters, digits, - or _. It cannot be changed later.")
    client_secret = PasswordField("Client secret", validators=[Length(max=2000)],
                                  description="Stored encrypted; never shown again.")
    trust_email = SelectField(
        "Trust the provider's verified email addresses", default="",
        choices=[SelectChoice("", "The kind's default"), SelectChoice("on", "On: trust them"),
                 SelectChoice("off", "Off: a link we mail proves the address")],
        description="The default is on for Google, Apple and GitHub and off for Microsoft and OpenID Connect. On: an "
                    "address the provider says is verified counts as proven. Off: a link we mail proves it before an "
                    "existing account is linked.")


def mfa_values(text: str | None) -> list[str]:
    return (text or "").split()


class SmsTestSendForm(FlaskForm):
    phone = StringField("Phone number", validators=[DataRequired("Enter a phone number to send the test to."),
                                                    Length(max=32)])


class UserDetailsForm(FlaskForm):
    """roq-mfa.txt "User Details": the MFA flag and the phone the codes go to."""

    mfa_enabled = BooleanField("Two-factor Authentication",
                               description="Ask this user for a second factor at every login.")
    phone = StringField("Phone", validators=[Optional(), Length(max=32)],
                        description="With the country code, for example +14155550100. Codes for login are sent "
                                    "here. Leave empty to remove the phone.")


class UserCreateForm(FlaskForm):
    """A new user: invited by mail to choose their own password (the default, as Keycloak's and
    Auth0's consoles suggest), or given an initial password under the realm's policy."""

    email = StringField("Email", validators=[DataRequired("Enter the user's email address."), Length(max=320)])
    name = StringField("Name", validators=[Optional(), Length(max=200)], description="Optional.")
    password_choice = RadioField(
        "Password", default="invite",
        choices=[SelectChoice("invite", "Send an invitation: the user chooses a password through a link "
                                        "mailed to them"),
                 SelectChoice("password", "Set an initial password and give it to the user yourself")])
    password = PasswordField("Initial password", validators=[Length(max=1024)],
                             description="Only with an initial password. The realm's password policy applies.")
    email_verified = BooleanField("The email address is verified",
                                  description="Only with an initial password: tick it when you know the address "
                                              "is the user's. An invitation verifies the address when it is "
                                              "used.")


class SetPasswordForm(FlaskForm):
    """An administrator sets the user's password: by default the user is signed out everywhere,
    as after a password reset (``services.sign_out.change_password``)."""

    password = PasswordField("New password", validators=[DataRequired("Enter the new password."), Length(max=1024)],
                             description="The realm's password policy applies. The user is told by mail.")
    keep_sessions = BooleanField("Keep the user's sessions and app tokens",
                                 description="Leave this off unless you know nobody else has the old password: "
                                             "by default the user is logged out of every browser and app, as after "
                                             "a password reset. Remembered devices are forgotten either way.")


class ConsoleRoleForm(FlaskForm):
    role = SelectField("Console role", choices=[
        SelectChoice("owner", "Owner: everything"),
        SelectChoice("operator", "Operator: users and clients"),
        SelectChoice("viewer", "Viewer: read-only"),
    ])


class ConfirmDeleteForm(FlaskForm):
    confirm = BooleanField("Yes, delete permanently",
                           validators=[InputRequired("Tick the box to confirm the deletion.")])


class ClientCreateForm(FlaskForm):
    name = StringField("Client name", validators=[DataRequired("Give the client a name."), Length(max=200)])
    redirect_uris = TextAreaField("Redirect URIs", validators=[Length(max=10000)],
                                  description="One per line. https, or http for localhost only.")
    post_logout_redirect_uris = TextAreaField("Post-logout URIs", validators=[Length(max=10000)],
                                              description="Where the app may send users after logout "
                                                          "(post_logout_redirect_uri); one per line, optional.")
    public = BooleanField("Public client (no secret)",
                          description="For single-page and mobile apps, which cannot keep a secret.")
    third_party = BooleanField("Third-party app", description="Users are asked to allow it access.")


class InitialAccessTokenForm(FlaskForm):
    """A new initial access token for dynamic client registration (RFC 7591)."""
    note = StringField("Note", validators=[Optional(), Length(max=200)],
                       description="What the token is for, such as the team or pipeline that registers apps with it.")
    expires_in_hours = IntegerField("Valid for (hours)", default=24,
                                    validators=[InputRequired("Give a number of hours."), NumberRange(1, 8760)],
                                    description="1 to 8760 (a year).")
    max_uses = IntegerField("Registrations allowed", validators=[Optional(), NumberRange(1, 100000)],
                            description="Leave empty to allow any number until it expires.")


class RedirectUrisForm(FlaskForm):
    redirect_uris = TextAreaField("Redirect URIs", validators=[Length(max=10000)],
                                  description="One per line. https, or http for localhost only.")
    post_logout_redirect_uris = TextAreaField("Post-logout URIs", validators=[Length(max=10000)],
                                              description="Where the app may send users after logout "
                                                          "(post_logout_redirect_uri); one per line, optional.")


class ClientAuthenticationForm(FlaskForm):
    """How a confidential client authenticates (``services.client_authentication``) and its
    public keys, for private_key_jwt and signed request objects."""

    token_endpoint_auth_method = SelectField(
        "Authentication method", choices=[
            SelectChoice("client_secret_basic", "Client secret (client_secret_basic or client_secret_post)"),
            SelectChoice("client_secret_jwt", "JWT signed with the client secret (client_secret_jwt)"),
            SelectChoice("private_key_jwt", "JWT signed with the client's key (private_key_jwt)"),
        ],
        description="Switching to client_secret_jwt, or from private_key_jwt back to a secret, issues a new "
                    "secret, shown once. A private_key_jwt client has no secret.")
    jwks = TextAreaField("Public keys (JWKS)", validators=[Length(max=65536)],
                         description='The client\'s public keys as a JSON Web Key Set ({"keys": [...]}); '
                                     "empty for none.")
    jwks_uri = StringField("JWKS URI", validators=[Length(max=2000)],
                           description="Or: the https URL where the client publishes them (fetched and cached).")
    require_signed_request_object = BooleanField(
        "Require signed request objects",
        description="Authorization requests must come as request objects signed by the client (RFC 9101).")


class GrantTypesForm(FlaskForm):
    """The grants a client may use: one checkbox per grant the server supports (the choices are
    the registry's, set by the view; the service checks each against its client rule)."""

    grant_types = SelectMultipleField("Grant types", choices=[], validate_choice=False,
                                      widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class DPoPForm(FlaskForm):
    dpop_required = BooleanField(
        "Require DPoP",
        description="Every token request must carry a DPoP proof (RFC 9449): the client's tokens are bound to its "
                    "key and it never gets a bearer token.")


class ResourceServerForm(FlaskForm):
    resource_server_for = TextAreaField(
        "Resource server for", validators=[Length(max=10000)],
        description="Client ids of the apps whose tokens this client may introspect, because it is their API; "
                    "one per line. Every client may introspect its own tokens, and no other client may.")


class ApiKeyForm(FlaskForm):
    """A realm's new API key: its scopes (each one a checkbox, none ticked is refused) and an
    optional expiry in the command line's spelling (``90d``, ``12h``, ``2027-01-31``)."""
    name = StringField("Key name", validators=[DataRequired("Give the key a name."), Length(max=100)],
                       description="What the key is for, such as the app that uses it.")
    scopes = SelectMultipleField(
        "Scopes", choices=[SelectChoice(scope, meaning) for scope, meaning in SCOPES.items()], default=list(SCOPES),
        validators=[DataRequired("Give the key at least one scope.")],
        description="What the key may do. Give it only what the app that uses it needs.")
    expires = StringField(
        "Expires", validators=[Optional(), Length(max=40)],
        description="Leave empty for a key that does not expire, or give a duration such as 90d, 12h "
                    "or 8w, or a date such as 2027-01-31 (UTC).")


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class OperatorCodeForm(FlaskForm):
    """The first code from the device an operator set up for a user (AuthRocket: "Users → pick
    a user → 2FA")."""

    name = StringField("Device name", validators=[Optional(), Length(max=100)])
    code = StringField("Code from the app", validators=[DataRequired("Enter the 6-digit code the app shows."),
                                                        Length(max=16)])


class WebhookForm(FlaskForm):
    url = StringField("Endpoint URL", validators=[DataRequired("Give the URL to send events to."), Length(max=2000)],
                      description="Where idp POSTs each event as JSON, signed per Standard Webhooks (https://).")
    event_types = TextAreaField("Event types", validators=[Optional(), Length(max=6500)],
                                description="One per line: a type such as user.created, or a family such as mfa.*. "
                                            "Leave empty to send every event.")
    description = StringField("Description", validators=[Optional(), Length(max=200)],
                              description="What the receiver is, for the people who read this page.")
    enabled = BooleanField("Enabled", default=True,
                           description="A disabled webhook is sent nothing; events while it is off are not queued.")


def _roles_field(label: str, description: str):
    """One checkbox per role of the realm (the choices are set by the view)."""
    return SelectMultipleField(label, choices=[], validate_choice=False, description=description,
                               widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class OrganizationForm(FlaskForm):
    name = StringField("Organization name", validators=[DataRequired("Give the organization a name."), Length(max=64)],
                       description="A stable slug (lowercase letters, digits, hyphens): apps send it as "
                                   "organization= on /authorize.")
    display_name = StringField("Display name", validators=[Optional(), Length(max=200)],
                               description="What users see. Leave empty to use the name.")
    domains = TextAreaField("Verified domains", validators=[Optional(), Length(max=13000)],
                            description="Email domains that belong to the organization, one per line (optional).")
    auto_join = BooleanField("Users of these domains join automatically",
                             description="A user with a verified address at one of the domains joins at their next "
                                         "login, or when they verify the address.")
    default_role = SelectField("Default role", choices=[], validate_choice=False,
                               description="The role of members who join by domain or by an invitation naming none.")


class OrganizationSettingsForm(FlaskForm):
    display_name = StringField("Display name", validators=[DataRequired("Give a display name."), Length(max=200)])
    default_role = SelectField("Default role", choices=[], validate_choice=False,
                               description="The role of members who join by domain or by an invitation naming none.")


class DomainForm(FlaskForm):
    domain = StringField("Domain", validators=[DataRequired("Give a domain, such as example.com."), Length(max=253)])
    auto_join = BooleanField("Users of this domain join automatically")


class MemberForm(FlaskForm):
    email = StringField("User's email", validators=[DataRequired("Give the email of a user of this realm."),
                                                    Length(max=320)])
    roles = _roles_field("Roles", "What the member may do in this organization.")


class MemberRolesForm(FlaskForm):
    roles = _roles_field("Roles", "Replaces the member's roles in this organization.")


class InvitationForm(FlaskForm):
    email = StringField("Email to invite", validators=[DataRequired("Give the address to invite."), Length(max=320)],
                        description="An account without a password is made for an address that has none; the link "
                                    "works once, for 72 hours.")
    role = SelectField("Role", choices=[], validate_choice=False)


class RoleForm(FlaskForm):
    name = StringField("Role name", validators=[DataRequired("Give the role a name."), Length(max=64)],
                       description="Lowercase letters, digits, dots, hyphens or underscores: tokens carry it.")
    description = StringField("Description", validators=[Optional(), Length(max=200)])
    permissions = TextAreaField("Permissions", validators=[Optional(), Length(max=11000)],
                                description="One per line, such as invoices:read.")


class RoleSettingsForm(FlaskForm):
    description = StringField("Description", validators=[Optional(), Length(max=200)])
    permissions = TextAreaField("Permissions", validators=[Optional(), Length(max=11000)],
                                description="One per line, such as invoices:read. Replaces the list.")


class RoleAssignForm(FlaskForm):
    email = StringField("User's email", validators=[DataRequired("Give the email of a user of this realm."),
                                                    Length(max=320)],
                        description="The user gets this role for the whole realm, whatever the organization.")
