from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..i18n import _l


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=256)])


class RegistrationForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Choose a password.")), Length(max=256)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: for confirmations and one-button actions."""
