"""Password hashes brought from another system (``idp users import``), checked as that system
checks them until the user's next successful password check re-hashes the password to argon2id
(``services.users.authenticate_password``).

Stored forms, one string in ``users.password_hash``:

- argon2 (``$argon2id$...``, ``$argon2i$...``, ``$argon2d$...``), PHC strings as argon2-cffi
  and most libraries write them; checked by argon2-cffi;
- bcrypt (``$2a$``, ``$2b$``, ``$2y$``), checked by the ``bcrypt`` package;
- Django's PBKDF2-SHA256, ``pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`` (the salt is
  text, the hash is 32 bytes);
- Keycloak's PBKDF2-SHA256 credential, stored as
  ``keycloak-pbkdf2-sha256$<iterations>$<base64 salt>$<base64 hash>`` (the salt is bytes; the
  hash length, 64 bytes by Keycloak's default, is read from the hash).

PBKDF2 is computed by the standard library's ``hashlib.pbkdf2_hmac`` and compared with
``hmac.compare_digest``. Work factors are capped (the ``MAX_*`` constants) so that an imported hash cannot
make a login check take minutes."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

import bcrypt
from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError
from argon2.low_level import Type

KEYCLOAK_PREFIX = "keycloak-pbkdf2-sha256"
DJANGO_PREFIX = "pbkdf2_sha256"

#: The largest work factors an imported hash may ask for.
MAX_PBKDF2_ITERATIONS = 5_000_000
MAX_BCRYPT_COST = 16
MAX_ARGON2_MEMORY_KIB = 1024 * 1024
MAX_ARGON2_TIME_COST = 32
MAX_ARGON2_PARALLELISM = 64

_BCRYPT = re.compile(r"^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$")
_B64 = re.compile(r"^[A-Za-z0-9+/=_-]+$")


class UnknownHashFormat(ValueError):
    """The text is not a password hash in a format this module checks; the message says why."""


def _b64decode(text: str, what: str) -> bytes:
    if not text or not _B64.match(text):
        raise UnknownHashFormat(f"the {what} is not base64")
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise UnknownHashFormat(f"the {what} is not base64") from None


def _iterations(text, what="iterations") -> int:
    if isinstance(text, bool):
        raise UnknownHashFormat(f"{what} must be a whole number")
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise UnknownHashFormat(f"{what} must be a whole number") from None
    if not 1 <= value <= MAX_PBKDF2_ITERATIONS:
        raise UnknownHashFormat(f"{what} must be between 1 and {MAX_PBKDF2_ITERATIONS}")
    return value


def hash_kind(stored: str | None) -> str | None:
    """``argon2``, ``bcrypt``, ``django-pbkdf2-sha256``, ``keycloak-pbkdf2-sha256`` or None."""
    if not stored:
        return None
    if stored.startswith("$argon2"):
        return "argon2"
    if stored.startswith(("$2a$", "$2b$", "$2y$")):
        return "bcrypt"
    if stored.startswith(DJANGO_PREFIX + "$"):
        return "django-pbkdf2-sha256"
    if stored.startswith(KEYCLOAK_PREFIX + "$"):
        return "keycloak-pbkdf2-sha256"
    return None


def is_argon2id(stored: str | None) -> bool:
    return bool(stored) and stored.startswith("$argon2id$")


def check_stored_hash(stored: str) -> str:
    """``stored`` if it is a well-formed hash of a known format within the work-factor caps;
    ``UnknownHashFormat`` otherwise. Nothing is verified against a password here."""
    if not isinstance(stored, str) or not stored or len(stored) > 255 or not stored.isascii():
        raise UnknownHashFormat("the password hash must be a string of at most 255 ASCII characters")
    kind = hash_kind(stored)
    if kind == "argon2":
        try:
            params = extract_parameters(stored)
        except (InvalidHashError, ValueError):
            raise UnknownHashFormat("the argon2 hash is malformed") from None
        if params.type not in (Type.ID, Type.I, Type.D):
            raise UnknownHashFormat("unknown argon2 variant")
        if params.salt_len < 8 or params.hash_len < 4 or params.memory_cost < 8 * params.parallelism:
            raise UnknownHashFormat("the argon2 hash is malformed (argon2 needs a salt of 8 bytes or more, a hash "
                                    "of 4 or more and 8 KiB of memory per lane)")
        if params.memory_cost > MAX_ARGON2_MEMORY_KIB or params.time_cost > MAX_ARGON2_TIME_COST or \
                params.parallelism > MAX_ARGON2_PARALLELISM:
            raise UnknownHashFormat("the argon2 hash's cost is above what this server checks at login")
        return stored
    if kind == "bcrypt":
        match = _BCRYPT.match(stored)
        if not match:
            raise UnknownHashFormat("the bcrypt hash is malformed")
        if not 4 <= int(match.group(1)) <= MAX_BCRYPT_COST:
            raise UnknownHashFormat(f"the bcrypt cost must be between 4 and {MAX_BCRYPT_COST}")
        return stored
    if kind in ("django-pbkdf2-sha256", "keycloak-pbkdf2-sha256"):
        parts = stored.split("$")
        if len(parts) != 4:
            raise UnknownHashFormat("a PBKDF2 hash has four parts separated by '$'")
        _prefix, iterations, salt, digest = parts
        _iterations(iterations)
        if not salt:
            raise UnknownHashFormat("the PBKDF2 salt is empty")
        if kind == "keycloak-pbkdf2-sha256":
            _b64decode(salt, "salt")
        if len(_b64decode(digest, "hash")) < 16:
            raise UnknownHashFormat("the PBKDF2 hash is too short")
        return stored
    raise UnknownHashFormat("unknown password hash format (bcrypt, argon2, Django pbkdf2_sha256 or a Keycloak "
                            "pbkdf2-sha256 credential are understood)")


def keycloak_credential(value, salt, iterations, algorithm="pbkdf2-sha256") -> str:
    """The stored form of a Keycloak password credential: ``secretData``'s ``value`` (the base64
    hash) and ``salt`` (base64), ``credentialData``'s ``hashIterations`` and ``algorithm``."""
    if algorithm != "pbkdf2-sha256":
        raise UnknownHashFormat(f"Keycloak algorithm '{str(algorithm)[:40]}' is not supported (pbkdf2-sha256 is)")
    if not isinstance(value, str) or not isinstance(salt, str):
        raise UnknownHashFormat("a Keycloak credential needs 'value' and 'salt' as base64 strings")
    return check_stored_hash(f"{KEYCLOAK_PREFIX}${_iterations(iterations, 'hashIterations')}${salt}${value}")


def verify_foreign(stored: str, password: str) -> bool:
    """Check ``password`` against a bcrypt or PBKDF2 hash (argon2 is ``security``'s own)."""
    kind = hash_kind(stored)
    secret = password.encode("utf-8")
    try:
        if kind == "bcrypt":
            # bcrypt reads at most 72 bytes; the bcrypt package refuses longer input since 5.0
            return bcrypt.checkpw(secret[:72], stored.encode("ascii"))
        if kind in ("django-pbkdf2-sha256", "keycloak-pbkdf2-sha256"):
            _prefix, iterations, salt, digest = stored.split("$")
            expected = _b64decode(digest, "hash")
            salt_bytes = salt.encode("utf-8") if kind == "django-pbkdf2-sha256" else _b64decode(salt, "salt")
            derived = hashlib.pbkdf2_hmac("sha256", secret, salt_bytes, _iterations(iterations), dklen=len(expected))
            return hmac.compare_digest(derived, expected)
    except (ValueError, UnknownHashFormat):
        return False
    return False
