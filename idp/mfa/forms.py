from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TelField
from wtforms.validators import DataRequired, InputRequired, Length, Optional


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter the 6-digit code."), Length(max=16)])


class LoginCodeForm(CodeForm):
    """The code form of a login; the checkbox shows when the realm remembers devices (its label
    names the realm's number of days)."""

    remember_device = BooleanField("Remember this device")


class PhoneForm(FlaskForm):
    phone = TelField("Phone number", validators=[DataRequired("Enter your phone number."), Length(max=32)])


class RecoveryCodeForm(FlaskForm):
    code = StringField("Recovery code", validators=[DataRequired("Enter one of your recovery codes."), Length(max=32)])


class SavedCodesForm(FlaskForm):
    saved = BooleanField("I have saved these codes",
                         validators=[InputRequired("Confirm that you have saved your recovery codes.")])


class TotpSetupForm(FlaskForm):
    name = StringField("Device name", validators=[Optional(), Length(max=100)])
    code = StringField("Code", validators=[DataRequired("Enter the 6-digit code from the app."), Length(max=16)])


class DeviceNameForm(FlaskForm):
    name = StringField("Device name", validators=[DataRequired("Give the device a name."), Length(max=100)])
