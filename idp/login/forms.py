from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=256)])


class RegistrationForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired("Choose a password."), Length(max=256)])
    name = StringField("Name", validators=[Optional(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: for confirmations and one-button actions."""
