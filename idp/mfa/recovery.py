"""Recovery codes: ten single-use codes shown once, stored as keyed digests. Using one is an
atomic claim, so the same code succeeds once even when submitted twice at the same moment."""
from __future__ import annotations

import secrets

from ..extensions import db
from ..i18n import _l
from ..models import RecoveryCode, utcnow
from ..security import digests_equal, keyed_digest
from ..services.audit import record_event
from .base import Factor

RECOVERY_CODE_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _canonical(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def generate_recovery_codes(user) -> list[str]:
    """Replace the user's codes with a fresh set; returns the plain codes (show them once)."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_digest=keyed_digest(_canonical(code))))
    record_event("mfa.recovery_codes_generated", realm=user.realm, user=user)
    return codes


def recovery_codes_remaining(user) -> int:
    return db.session.scalar(
        db.select(db.func.count(RecoveryCode.id)).filter_by(user_id=user.id).filter(RecoveryCode.used_at.is_(None))
    ) or 0


def has_recovery_codes(user) -> bool:
    return db.session.scalar(db.select(RecoveryCode.id).filter_by(user_id=user.id).limit(1)) is not None


def use_recovery_code(user, code: str) -> bool:
    canonical = _canonical(code)
    if not canonical or len(canonical) > 32:
        return False
    digest = keyed_digest(canonical)
    row = db.session.scalar(db.select(RecoveryCode).filter_by(user_id=user.id, code_digest=digest))
    if row is None or not digests_equal(row.code_digest, digest):
        return False
    claimed = db.session.execute(
        db.update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return False
    record_event("mfa.recovery_code_used", realm=user.realm, user=user, remaining=recovery_codes_remaining(user))
    return True


class RecoveryCodeFactor(Factor):
    kind = "recovery"
    amr = ()
    code_label = _l("Recovery code")

    def enabled(self, realm):
        return True

    def enrolled(self, user):
        return recovery_codes_remaining(user) > 0

    def verify(self, challenge, code):
        return use_recovery_code(challenge.user, code)
