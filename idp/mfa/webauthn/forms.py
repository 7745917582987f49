from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ...i18n import _l
from .ceremonies import MAX_RESPONSE_CHARS

NO_RESPONSE = _l("Your browser did not return a passkey. Try again, or use another method.")


class PasskeyForm(FlaskForm):
    """What the page's script posts: the credential (``PublicKeyCredential.toJSON()``)."""

    credential = HiddenField(validators=[DataRequired(NO_RESPONSE), Length(max=MAX_RESPONSE_CHARS)])


class PasskeySetupForm(PasskeyForm):
    name = StringField(_l("Passkey name"), validators=[Optional(), Length(max=100)])
