"""One-time codes sent out of band (a text message, a mail), for the factors that send them.

Six digits from ``secrets``, valid ``mfa.otp_lifetime`` seconds, stored as a salted keyed digest,
at most ``mfa.otp_max_attempts`` wrong tries per code, a resend cool-down per binding and
destination. A new code for a binding ends the earlier ones of the same factor. Each check uses
up one try, claimed before comparing, so guesses sent together get no more tries than the code
has."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from flask import current_app

from ..extensions import db
from ..models import OtpChallenge, utcnow
from ..security import digests_equal
from .base import Challenge, normalize_code


def _settings():
    return current_app.extensions["idp.settings"].mfa


def _code_digest(salt: str, code: str) -> str:
    key = current_app.config["IDP_TOKEN_HASH_KEY"].encode()
    return hmac.new(key, f"otp:{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def latest_code(challenge: Challenge, factor: str) -> OtpChallenge | None:
    return db.session.scalar(
        db.select(OtpChallenge)
        .filter_by(user_id=challenge.user.id, transaction_id=challenge.binding, factor=factor)
        .order_by(OtpChallenge.id.desc())
    )


def resend_wait_seconds(challenge: Challenge, factor: str, destination: str | None) -> int:
    """Seconds before another code may be sent to the same destination for this binding. A
    corrected destination gets one at once; the factor's own caps apply across destinations."""
    query = db.select(OtpChallenge.created_at).filter_by(user_id=challenge.user.id, transaction_id=challenge.binding,
                                                         factor=factor)
    if destination:
        query = query.filter_by(destination=destination)
    last = db.session.scalar(query.order_by(OtpChallenge.id.desc()))
    if last is None:
        return 0
    elapsed = (utcnow() - last).total_seconds()
    return max(0, int(_settings().resend_cooldown - elapsed + 0.999))


def enrolment_wait_seconds(user, destination: str) -> int:
    """The resend cool-down for ``destination`` across all of the user's enrolments."""
    last = db.session.scalar(
        db.select(OtpChallenge.created_at).filter_by(user_id=user.id, destination=destination, purpose="enrol")
        .order_by(OtpChallenge.id.desc()))
    if last is None:
        return 0
    return max(0, int(_settings().resend_cooldown - (utcnow() - last).total_seconds() + 0.999))


def issue_code(challenge: Challenge, *, factor: str, destination: str, purpose: str) -> tuple[OtpChallenge, str]:
    """A new code for the binding (earlier ones of the factor stop working); the row (added to
    the session) and the plain code to deliver."""
    settings = _settings()
    code = f"{secrets.randbelow(1_000_000):06d}"
    salt = secrets.token_hex(8)
    now = utcnow()
    db.session.execute(
        db.update(OtpChallenge)
        .where(OtpChallenge.user_id == challenge.user.id, OtpChallenge.transaction_id == challenge.binding,
               OtpChallenge.factor == factor, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    row = OtpChallenge(realm_id=challenge.realm.id, user_id=challenge.user.id, transaction_id=challenge.binding,
                       factor=factor, purpose=purpose, destination=destination, salt=salt,
                       code_digest=_code_digest(salt, code), attempts=0, created_at=now,
                       expires_at=now + dt.timedelta(seconds=settings.otp_lifetime))
    db.session.add(row)
    return row, code


def verify_code(challenge: Challenge, code: str, *, factor: str, destination: str | None) -> bool:
    """Check ``code`` against the binding's live code for ``destination``; consume it on success."""
    row = latest_code(challenge, factor)
    code = normalize_code(code)
    if row is None or row.consumed_at is not None or row.expires_at <= utcnow():
        return False
    if destination and row.destination != destination:
        return False
    try_claimed = db.session.execute(
        db.update(OtpChallenge)
        .where(OtpChallenge.id == row.id, OtpChallenge.consumed_at.is_(None),
               OtpChallenge.attempts < _settings().otp_max_attempts)
        .values(attempts=OtpChallenge.attempts + 1)
    ).rowcount
    db.session.commit()
    if try_claimed != 1:
        return False
    if not (len(code) == 6 and code.isdigit() and digests_equal(_code_digest(row.salt, code), row.code_digest)):
        return False
    claimed = db.session.execute(
        db.update(OtpChallenge)
        .where(OtpChallenge.id == row.id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=utcnow())
    ).rowcount
    return claimed == 1


def code_exhausted(challenge: Challenge, factor: str) -> bool:
    row = latest_code(challenge, factor)
    return row is None or row.consumed_at is not None or row.expires_at <= utcnow() or \
        row.attempts >= _settings().otp_max_attempts


def end_codes(user) -> None:
    """Every code in flight for the user stops working (an administrator's reset)."""
    db.session.execute(
        db.update(OtpChallenge).where(OtpChallenge.user_id == user.id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=utcnow()))


