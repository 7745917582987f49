"""Password policy per NIST SP 800-63B §5.1.1.2, set per realm: a minimum length, a check against
commonly used passwords, a check against the account's email address, and no composition rules."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from flask import current_app

from ..i18n import _
from . import ServiceError
from .realm_settings import MIN_LENGTH_RANGE

MAX_PASSWORD_LENGTH = 256
#: A shorter local part ("al@...") would refuse too many good passwords for too little gain.
MIN_EMAIL_PART_LENGTH = 4


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("idp").joinpath("data/common-passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def default_min_length() -> int:
    """The minimum length a new realm starts with: the instance's ``login.password_min_length``,
    kept within what a realm may set."""
    configured = current_app.extensions["idp.settings"].login.password_min_length
    low, high = MIN_LENGTH_RANGE
    return max(low, min(high, configured))


def check_min_length_setting(value) -> int:
    low, high = MIN_LENGTH_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServiceError(f"password_min_length must be a number of characters between {low} and {high}",
                           field="password_min_length")
    return value


def password_hint(realm) -> str:
    if realm.password_block_common:
        return _("At least %(count)d characters. Avoid common passwords.", count=realm.password_min_length)
    return _("At least %(count)d characters.", count=realm.password_min_length)


def check_password_policy(realm, password: str, *, email: str | None = None) -> None:
    """Raise ``ServiceError`` (on the ``password`` field) when ``password`` breaks the realm's policy."""
    if password is None or len(password) < realm.password_min_length:
        raise ServiceError(_("Password must be at least %(count)d characters.", count=realm.password_min_length),
                           field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ServiceError(_("Password must be at most %(count)d characters.", count=MAX_PASSWORD_LENGTH),
                           field="password")
    lowered = password.lower()
    if realm.password_block_common and lowered in _common_passwords():
        raise ServiceError(_("This password is too common. Choose one that is harder to guess."), field="password")
    if realm.password_block_email and email:
        address = email.lower()
        local_part = address.rpartition("@")[0]
        mailbox = local_part.partition("+")[0]  # alice+idp@ is alice's mailbox
        if lowered == address:
            raise ServiceError(_("Password must not be your email address."), field="password")
        if any(len(part) >= MIN_EMAIL_PART_LENGTH and part in lowered for part in {local_part, mailbox}):
            raise ServiceError(_("Password must not contain the first part of your email address."),
                               field="password")
