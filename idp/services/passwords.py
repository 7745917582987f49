"""Password policy per NIST SP 800-63B §5.1.1.2: a minimum length, a check against commonly
used passwords, and no composition rules."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from flask import current_app

from . import ServiceError

MAX_PASSWORD_LENGTH = 256


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("idp").joinpath("data/common-passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_hint() -> str:
    return f"At least {min_length()} characters. Avoid common passwords."


def min_length() -> int:
    return current_app.extensions["idp.settings"].login.password_min_length


def check_password_policy(password: str, *, email: str | None = None) -> None:
    if password is None or len(password) < min_length():
        raise ServiceError(f"Password must be at least {min_length()} characters.", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ServiceError(
            f"Password must be at most {MAX_PASSWORD_LENGTH} characters.", field="password"
        )
    lowered = password.lower()
    if lowered in _common_passwords():
        raise ServiceError(
            "This password is too common. Choose one that is harder to guess.", field="password"
        )
    if email and lowered == email.lower():
        raise ServiceError("Password must not be your email address.", field="password")
