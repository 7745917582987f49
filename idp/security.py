"""Hashing, encryption and random secrets. Nothing here is hand-rolled crypto: argon2-cffi for
passwords, HMAC-SHA-256 for long random secrets, Fernet for secrets that must be read back."""
from __future__ import annotations

import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from .memory import give_back_free_memory
from .password_hashes import hash_kind, is_argon2id, verify_foreign


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def keyed_digest(secret: str, key: bytes | None = None) -> str:
    """HMAC-SHA-256 of a long random secret (token, code, client secret) under the instance key
    (``key``: that key as bytes, for a caller outside an app context).

    Long random values do not need a slow KDF; the key means a leaked table alone cannot be
    used to test guesses."""
    if key is None:
        key = current_app.config["IDP_TOKEN_HASH_KEY"].encode()
    return hmac.digest(key, secret.encode(), "sha256").hex()


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _password_hasher() -> PasswordHasher:
    settings = current_app.extensions["idp.settings"].security
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )


def hash_password(password: str) -> str:
    try:
        return _password_hasher().hash(password)
    finally:
        give_back_free_memory()


_DUMMY_HASH: dict[tuple, str] = {}


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists: with no hash, a dummy one is checked."""
    try:
        return _verify_password(password_hash, password)
    finally:
        give_back_free_memory()  # on both paths alike: no time difference tells them apart


def _verify_password(password_hash: str | None, password: str) -> bool:
    hasher = _password_hasher()
    if not password_hash:
        params = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if params not in _DUMMY_HASH:
            _DUMMY_HASH[params] = hasher.hash(random_token())
        password_hash = _DUMMY_HASH[params]
        try:
            hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    if hash_kind(password_hash) not in (None, "argon2"):
        return verify_foreign(password_hash, password)
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True for any hash but an argon2id one with this server's parameters: an imported bcrypt,
    PBKDF2 or argon2i hash becomes argon2id at the user's next successful password check."""
    if not is_argon2id(password_hash):
        return True
    try:
        return _password_hasher().check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def _fernet() -> Fernet:
    return Fernet(current_app.config["IDP_ENCRYPTION_KEY"].encode())


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the configured encryption key") from exc


def new_encryption_key() -> str:
    return Fernet.generate_key().decode()
