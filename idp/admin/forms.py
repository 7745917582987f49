"""The console's forms. Every label names its control on its own (the browser tests find
controls by label), and every form carries its CSRF token (Flask-WTF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from ..services.mfa_policy import MAX_REMEMBER_DEVICE_DAYS
from ..services.passwords import MIN_LENGTH_RANGE


class ButtonForm(FlaskForm):
    """Nothing but the CSRF token: one-button actions (activate, rotate, lock)."""


class RealmCreateForm(FlaskForm):
    name = StringField("Realm name", validators=[DataRequired("Give the realm a name."), Length(max=63)],
                       description="Lowercase letters, digits and hyphens; it appears in URLs, for example "
                                   "/realms/acme/authorize.")
    display_name = StringField("Display name", validators=[Optional(), Length(max=200)],
                               description="What users see on the login pages. Leave empty to derive it from the name.")


LIFETIME = [Optional(), NumberRange(min=30, max=31536000, message="Give a number of seconds between 30 and 31536000.")]
PASSWORD_MIN_LENGTH = [Optional(), NumberRange(min=MIN_LENGTH_RANGE[0], max=MIN_LENGTH_RANGE[1],
                                               message="Give a number of characters between %d and %d."
                                                       % MIN_LENGTH_RANGE)]
REMEMBER_DEVICE_DAYS = [Optional(), NumberRange(min=0, max=MAX_REMEMBER_DEVICE_DAYS,
                                                message="Give a number of days between 0 (off) and %d."
                                                        % MAX_REMEMBER_DEVICE_DAYS)]


class RealmSettingsForm(FlaskForm):
    display_name = StringField("Display name", validators=[DataRequired("Give the realm a display name."),
                                                           Length(max=200)])
    registration_enabled = BooleanField("Allow self-registration",
                                        description="People can create their own account from the login page.")
    mfa_enabled = BooleanField("Two-factor authentication (master switch)",
                               description="When this is off nobody is asked for a second factor, even users who "
                                           "have two-factor authentication turned on.")
    mfa_login_form = BooleanField("Two-factor Authentication on the login form",
                                  description="Users who have two-factor authentication on enter a code after "
                                              "their password.")
    mfa_registration_form = BooleanField("Two-factor Authentication on the registration form",
                                         description="New users enrol a second factor (their phone number) right "
                                                     "after registering. This affects new users only; turn it on "
                                                     "for existing users on their User Details page.")
    mfa_required = BooleanField("Require two-factor authentication from every user",
                                description="Users without a second factor set one up at their next login.")
    users_may_toggle_mfa = BooleanField("Users may turn two-factor authentication on and off",
                                        description="From their account page (ignored while it is required).")
    sms_enabled = BooleanField("SMS codes", description="Codes sent by text message. Needs at least one active "
                                                        "SMS integration.")
    totp_enabled = BooleanField("Authenticator apps", description="Codes from an app such as Google Authenticator "
                                                                  "(TOTP).")
    sms_allowed_countries = StringField("Allowed countries for text messages", validators=[Length(max=2000)],
                                        description="Two-letter country codes separated by commas, such as US, GB. "
                                                    "Leave empty to allow every country.")
    theme = SelectField("Theme", choices=[])
    access_token_lifetime = IntegerField("Access token lifetime (seconds)", validators=LIFETIME)
    id_token_lifetime = IntegerField("ID token lifetime (seconds)", validators=LIFETIME)
    refresh_token_lifetime = IntegerField("Refresh token lifetime (seconds)", validators=LIFETIME)
    password_min_length = IntegerField("Minimum password length (characters)", validators=PASSWORD_MIN_LENGTH,
                                       description="Between 8 and 128. Length is what makes a password hard to "
                                                   "guess (NIST SP 800-63B), so there are no rules about digits "
                                                   "or symbols. Existing passwords keep working; the minimum "
                                                   "applies when a password is chosen.")
    password_block_common = BooleanField("Refuse common passwords",
                                         description="Passwords on the bundled list of the most common ones, "
                                                     "such as 123456 or password, are refused.")
    password_block_email = BooleanField("Refuse passwords that contain the email address",
                                        description="The password may not be the email address, nor contain the "
                                                    "part before the @ when that part has 4 characters or more.")
    require_email_verification = BooleanField(
        "Require a verified email address",
        description='After registering, people get a link by mail. Until they open it, their login stops at '
                    '"Check your inbox" and apps get no token for them. When this is off the link still '
                    'verifies the address, but nobody has to wait for it.')
    remember_device_days = IntegerField(
        "Remember devices for (days)", validators=REMEMBER_DEVICE_DAYS,
        description='After a second factor, the code page offers "Remember this device" for this many days; that '
                    'browser then skips the code at login. 0 turns it off. A new password or factor forgets every '
                    'device, and so does "Forget remembered devices" on a user\'s page.')

    SWITCHES = ("registration_enabled", "mfa_enabled", "mfa_login_form", "mfa_registration_form", "mfa_required",
                "users_may_toggle_mfa", "sms_enabled", "totp_enabled", "password_block_common",
                "password_block_email", "require_email_verification")
    LIFETIMES = ("access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime")
    NUMBERS = ("password_min_length", "remember_device_days")

    def changes(self) -> dict:
        """The realm settings this form sets, as ``update_realm`` takes them."""
        changes = {name: bool(self[name].data) for name in self.SWITCHES}
        changes["display_name"] = self.display_name.data
        changes["theme"] = self.theme.data
        changes["sms_allowed_countries"] = [c for c in (self.sms_allowed_countries.data or "").split(",") if c.strip()]
        for name in (*self.LIFETIMES, *self.NUMBERS):
            if self[name].data is not None:
                changes[name] = self[name].data
        return changes


class SmsIntegrationForm(FlaskForm):
    kind = SelectField("Provider", choices=[SelectChoice("outbox", "Outbox (development: writes messages to a file)"),
                                            SelectChoice("twilio", "Twilio")])
    name = StringField("Integration name", validators=[DataRequired("Give the integration a name."), Length(max=100)])
    account_sid = StringField("Twilio account SID", validators=[Optional(), Length(max=64)],
                              description="Twilio only: AC followed by 32 hexadecimal digits.")
    auth_token = PasswordField("Twilio auth token", validators=[Optional(), Length(max=200)],
                               description="Twilio only. Stored encrypted; never shown again.")
    from_number = StringField("Sender phone number", validators=[Optional(), Length(max=32)],
                              description="Twilio only, unless you give a messaging service SID: for example "
                                          "+14155550100.")
    messaging_service_sid = StringField("Twilio messaging service SID", validators=[Optional(), Length(max=64)])
    active = BooleanField("Activate now")


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


class RedirectUrisForm(FlaskForm):
    redirect_uris = TextAreaField("Redirect URIs", validators=[Length(max=10000)],
                                  description="One per line. https, or http for localhost only.")
    post_logout_redirect_uris = TextAreaField("Post-logout URIs", validators=[Length(max=10000)],
                                              description="Where the app may send users after logout "
                                                          "(post_logout_redirect_uri); one per line, optional.")


class ResourceServerForm(FlaskForm):
    resource_server_for = TextAreaField(
        "Resource server for", validators=[Length(max=10000)],
        description="Client ids of the apps whose tokens this client may introspect, because it is their API; "
                    "one per line. Every client may introspect its own tokens, and no other client may.")


class ApiKeyForm(FlaskForm):
    name = StringField("Key name", validators=[DataRequired("Give the key a name."), Length(max=100)],
                       description="What the key is for, such as the app that uses it.")


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


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
