from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TelField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..i18n import _l


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the 6-digit code.")), Length(max=16)])


class LoginCodeForm(CodeForm):
    """The code form of a login; the checkbox shows when the realm remembers devices (its label
    names the realm's number of days)."""

    remember_device = BooleanField(_l("Remember this device"))


class PhoneForm(FlaskForm):
    phone = TelField(_l("Phone number"), validators=[DataRequired(_l("Enter your phone number.")), Length(max=32)])


class RecoveryCodeForm(FlaskForm):
    code = StringField(_l("Recovery code"), validators=[DataRequired(_l("Enter one of your recovery codes.")), Length(max=32)])


class SavedCodesForm(FlaskForm):
    saved = BooleanField(_l("I have saved these codes"),
                         validators=[InputRequired(_l("Confirm that you have saved your recovery codes."))])


class TotpSetupForm(FlaskForm):
    name = StringField(_l("Device name"), validators=[Optional(), Length(max=100)])
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the 6-digit code from the app.")), Length(max=16)])


class DeviceNameForm(FlaskForm):
    name = StringField(_l("Device name"), validators=[DataRequired(_l("Give the device a name.")), Length(max=100)])
