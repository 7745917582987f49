"""Failed passwords per email address (NIST SP 800-63B §5.2.2): after ``login.max_failed_passwords``
wrong passwords within ``login.failed_passwords_window`` seconds, password logins for that address
are locked for ``login.password_lockout_seconds``, even with the right password. The lock is the
audit event ``login.locked``, which mails the owner (once per lock, ``idp.lifecycle.notifications``).

Why per address and not per account row: the counter is keyed by the realm and the normalised
address that was typed, whether or not an account has it. An unknown address locks after the
same number of tries and answers exactly like a real one, so the lock cannot tell anyone which
addresses have accounts. A locked address is refused before any hash is computed, for both.

Claim, then check (as ``idp.mfa.attempts`` does for codes): every attempt is counted *before* its
password is checked, so guesses that arrive together cannot check more passwords than the limit;
a success clears the count. The counters live in the rate-limit storage every worker shares
(``idp.ratelimit``: Redis when ``redis.url`` is set, otherwise the database).

Every password check goes through it::

    attempt = claim_password_attempt(realm, email)   # raises PasswordLoginLocked
    if password is right: attempt.succeeded()        # may raise PasswordLoginLocked
    else: attempt.failed(user)                       # the limit-reaching failure locks
"""
from __future__ import annotations

import math
import time

from flask import current_app
from redis.exceptions import NoScriptError

from ..extensions import db
from ..security import keyed_digest
from .audit import record_event


class PasswordLoginLocked(Exception):
    """Too many wrong passwords for this address: refused without a check, for ``seconds``."""

    def __init__(self, seconds: int):
        super().__init__(f"password logins for this address are locked for {seconds} s")
        self.seconds = seconds

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))

    @property
    def message(self) -> str:
        """What a hosted page says: the same for every address, with an account or not."""
        from ..i18n import ngettext

        return ngettext(
            "Too many wrong passwords for this email address. Try again in %(num)s minute or reset your password.",
            "Too many wrong passwords for this email address. Try again in %(num)s minutes or reset your password.",
            self.minutes)


def address_key(email: str) -> str:
    """The address as the counter knows it: the users table's own key (``email_key``) of the
    address as a lookup reads it (``normalize_email``, when it is one), so ``Émile@…``,
    ``émile@…`` and its fullwidth or punycode spellings share one count with the account."""
    from . import ServiceError
    from .users import email_key, normalize_email

    try:
        email = normalize_email(email)
    except ServiceError:
        pass
    return email_key(email)


def _settings():
    return current_app.extensions["idp.settings"].login


def _storage():
    """The shared rate-limit storage, or None when rate limiting is switched off."""
    from ..ratelimit import limiter

    return limiter.storage if limiter.enabled else None


def _counter_key(realm, email: str) -> str:
    """A keyed digest, so the storage holds no addresses and every key has the same length."""
    return "idp-password-failures/" + keyed_digest(f"password-failures:{realm.id}:{address_key(email)}")


def _lock_key(counter_key: str) -> str:
    return counter_key + "/locked"


def _seconds_locked(storage, counter_key: str, *, lock_count: int | None = None) -> int:
    """Seconds the address stays locked; ``lock_count``: the lock's counter, already read."""
    lock_key = _lock_key(counter_key)
    if (storage.get(lock_key) if lock_count is None else lock_count) <= 0:
        return 0
    return max(1, math.ceil(storage.get_expiry(lock_key) - time.time()))


def _redis_pipeline(storage):
    """A pipeline of the storage's Redis connection, when the storage is the plain Redis one,
    or None (the database storage, a cluster, a sentinel: one call each).

    A login's count and lock checks are two round trips instead of four: the count with the
    check of the lock that follows it, and the check of the lock with the clearing of the count
    on success. Each pair is sent at once; neither changes what the other reads (see
    ``_count`` and ``PasswordAttempt.succeeded``)."""
    from limits.storage import RedisStorage

    if type(storage) is not RedisStorage:
        return None
    return storage.get_connection().pipeline(transaction=False)


def _count(storage, counter_key: str, window: int) -> tuple[int, int]:
    """Count one attempt; returns the count and the lock's counter as it stands just after."""
    pipeline = _redis_pipeline(storage)
    if pipeline is None:
        number = storage.incr(counter_key, window)
        return number, storage.get(_lock_key(counter_key))
    # the storage's own counting script, by its digest (handing the script to the pipeline
    # would ask the server whether it knows it first: one more round trip)
    pipeline.evalsha(storage.lua_incr_expire.sha, 1, storage.prefixed_key(counter_key), window, 1)
    pipeline.get(storage.prefixed_key(_lock_key(counter_key)))
    try:
        number, lock_count = pipeline.execute()
    except NoScriptError:  # the server lost its scripts (a restart, SCRIPT FLUSH); nothing was counted
        number = storage.incr(counter_key, window)
        return number, storage.get(_lock_key(counter_key))
    return int(number), int(lock_count or 0)


class PasswordAttempt:
    """One claimed attempt at one address's password (``number`` of the current window)."""

    def __init__(self, realm, email: str, storage=None, counter_key: str = "", number: int = 0):
        self.realm = realm
        self.email = email
        self.storage = storage
        self.counter_key = counter_key
        self.number = number

    def succeeded(self) -> None:
        """The password was right: the count starts again. A lock that a guess running at the
        same moment set still holds, for this attempt too."""
        if self.storage is None:
            return
        pipeline = _redis_pipeline(self.storage)
        if pipeline is None:
            seconds = _seconds_locked(self.storage, self.counter_key)
            if seconds:
                raise PasswordLoginLocked(seconds)
            self.storage.clear(self.counter_key)
            return
        # Clearing the count of a locked address changes nothing: the failure that locked it
        # cleared the count, and while it is locked attempts are refused before they count.
        pipeline.get(self.storage.prefixed_key(_lock_key(self.counter_key)))
        pipeline.delete(self.storage.prefixed_key(self.counter_key))
        lock_count, _deleted = pipeline.execute()
        seconds = _seconds_locked(self.storage, self.counter_key, lock_count=int(lock_count or 0))
        if seconds:
            raise PasswordLoginLocked(seconds)

    def failed(self, user=None) -> None:
        """The password was wrong, or its account cannot log in: the count stays. The failure
        that reaches the limit locks the address and records ``login.locked`` (which mails a
        real account's owner), once per lock; it commits that event."""
        settings = _settings()
        if self.storage is None or self.number < settings.max_failed_passwords:
            return
        first = self.storage.incr(_lock_key(self.counter_key), settings.password_lockout_seconds) == 1
        self.storage.clear(self.counter_key)
        if first:
            record_event("login.locked", realm=self.realm, user=user, email=None if user else self.email[:320],
                         failures=settings.max_failed_passwords, seconds=settings.password_lockout_seconds)
            db.session.commit()


def claim_password_attempt(realm, email: str) -> PasswordAttempt:
    """Count one attempt at ``email``'s password before it is checked. Raises
    ``PasswordLoginLocked`` when the address is locked, or when attempts running at the same
    moment have already claimed every try the limit leaves."""
    settings = _settings()
    storage = _storage()
    if storage is None or settings.max_failed_passwords <= 0:
        return PasswordAttempt(realm, email)
    counter_key = _counter_key(realm, email)
    seconds = _seconds_locked(storage, counter_key)
    if seconds:
        raise PasswordLoginLocked(seconds)
    number, lock_count = _count(storage, counter_key, settings.failed_passwords_window)
    # a lock set between the check above and the count: the count may have restarted at 1
    seconds = _seconds_locked(storage, counter_key, lock_count=lock_count)
    if seconds or number > settings.max_failed_passwords:
        raise PasswordLoginLocked(seconds or settings.password_lockout_seconds)
    return PasswordAttempt(realm, email, storage, counter_key, number)


def unlock_address(realm, email: str) -> None:
    """Forget the failures and any lock of ``email``: its owner proved they hold the mailbox
    (a password reset)."""
    storage = _storage()
    if storage is None:
        return
    counter_key = _counter_key(realm, email)
    storage.clear(counter_key)
    storage.clear(_lock_key(counter_key))
