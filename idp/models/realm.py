from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Integer, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class Realm(db.Model):
    """An isolated set of users, clients, settings, theme and signing keys (AuthRocket's realm)."""

    __tablename__ = "realms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(64), default="default")
    registration_enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    mfa_login_form: Mapped[bool] = mapped_column(Boolean, default=True)
    mfa_registration_form: Mapped[bool] = mapped_column(Boolean, default=False)
    mfa_required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The second factors this realm offers, by kind (``idp.mfa.registry``): ``["totp", "sms"]``.
    #: Recovery codes are not listed: they come with any other factor.
    #: Nullable so that it could be added in place (no table rebuild): NULL reads as none.
    mfa_factors: Mapped[list | None] = mapped_column(JSON, default=list, nullable=True)
    users_may_toggle_mfa: Mapped[bool] = mapped_column(Boolean, default=True)
    sms_allowed_countries: Mapped[list] = mapped_column(JSON, default=list)
    require_email_verification: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: RFC 9126: every client of the realm must push its authorization requests (``idp.oidc.par``).
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(Boolean, default=False,
                                                                         server_default=false())
    #: RFC 7591: apps may register themselves at ``/register`` with an initial access token, and
    #: (``anonymous_client_registration``) even without one.
    dynamic_client_registration: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    anonymous_client_registration: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: "Remember this device" for this many days after a second factor; 0 turns it off.
    remember_device_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Passkeys (``idp.mfa.webauthn``): "Sign in with a passkey" on the login page; whether
    #: every ceremony requires user verification (else preferred); and "Create a passkey for
    #: faster sign-in", offered once after a password and second-factor login.
    passkey_sign_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    passkey_user_verification_required: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    passkey_offer_after_login: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    #: Password policy (NIST SP 800-63B): a minimum length, the bundled list of common passwords,
    #: and the email address (or its local part) inside the password; no composition rules.
    password_min_length: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    password_block_common: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    password_block_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    access_token_lifetime: Mapped[int | None] = mapped_column(Integer, nullable=True)
    id_token_lifetime: Mapped[int | None] = mapped_column(Integer, nullable=True)
    refresh_token_lifetime: Mapped[int | None] = mapped_column(Integer, nullable=True)

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Realm {self.name}>"

    def offers_factor(self, kind: str) -> bool:
        return kind in (self.mfa_factors or [])

    def set_factor_offered(self, kind: str, offered: bool) -> None:
        kinds = [k for k in (self.mfa_factors or []) if k != kind]
        self.mfa_factors = kinds + [kind] if offered else kinds

    # The settings ``sms_enabled`` and ``totp_enabled`` (``idp realms set --sms on --totp on``,
    # the API's and the console's switches) are spellings of membership in ``mfa_factors``.
    @property
    def sms_enabled(self) -> bool:
        return self.offers_factor("sms")

    @sms_enabled.setter
    def sms_enabled(self, value: bool) -> None:
        self.set_factor_offered("sms", bool(value))

    @property
    def totp_enabled(self) -> bool:
        return self.offers_factor("totp")

    @totp_enabled.setter
    def totp_enabled(self, value: bool) -> None:
        self.set_factor_offered("totp", bool(value))
