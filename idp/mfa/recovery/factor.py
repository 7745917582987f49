"""Recovery codes: ten single-use codes shown once. One credential of kind "recovery" holds the
set as keyed digests, ``data = {"digests": [...], "used": [index, ...]}``; spending a code is a
compare-and-set on the credential (``flows.update_data``), so the same code succeeds once even
when submitted twice at the same moment."""
from __future__ import annotations

import secrets

from ...extensions import db
from ...i18n import _l
from ...models import Authenticator, utcnow
from ...security import digests_equal, keyed_digest
from ...services.audit import record_event
from ..base import CredentialDescription, Factor

RECOVERY_CODE_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _canonical(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def recovery_set(user) -> Authenticator | None:
    return db.session.scalar(db.select(Authenticator).filter_by(user_id=user.id, kind="recovery", state="active"))


def _remaining(row: Authenticator | None) -> int:
    if row is None:
        return 0
    data = row.data or {}
    return len(data.get("digests", [])) - len(set(data.get("used", [])))


def recovery_codes_remaining(user) -> int:
    return _remaining(recovery_set(user))


class RecoveryCodeFactor(Factor):
    kind = "recovery"
    amr = ()
    backup = True
    label = _l("Recovery codes")
    plural_label = _l("Recovery codes")
    choice_label = _l("Use a recovery code")
    wrong_response_message = _l("That recovery code is not valid or was already used.")

    def enabled(self, realm):
        return bool(realm.mfa_factors)

    def issue(self, user):
        codes = [_new_code() for _ in range(RECOVERY_CODE_COUNT)]
        row = Authenticator(user_id=user.id, kind=self.kind, name=str(self.label), state="active",
                            activated_at=utcnow(), revision=0,
                            data={"digests": [keyed_digest(_canonical(code)) for code in codes], "used": []})
        row.user = user
        db.session.add(row)
        db.session.flush()
        record_event("mfa.recovery_codes_generated", realm=user.realm, user=user)
        return codes

    def usable(self, authenticator):
        return _remaining(authenticator) > 0

    def verify(self, challenge, response):
        from ..flows import update_data

        canonical = _canonical(response.get("code") or "")
        row = recovery_set(challenge.user)
        if row is None or not canonical or len(canonical) > 32:
            return None
        digest = keyed_digest(canonical)
        index = next((i for i, stored in enumerate(row.data.get("digests", [])) if digests_equal(stored, digest)), None)
        if index is None:
            return None

        def spend(data):
            if index in data.get("used", []):
                return None
            data["used"] = [*data.get("used", []), index]
            return data

        spent = update_data(row, spend)
        db.session.commit()
        if not spent:
            return None
        record_event("mfa.recovery_code_used", realm=challenge.realm, user=challenge.user, remaining=_remaining(row))
        return row

    def describe(self, authenticator):
        remaining = _remaining(authenticator)
        return CredentialDescription(
            id=authenticator.id, kind=self.kind, kind_label=str(self.label), name=str(self.label),
            state=authenticator.state, detail=f"{remaining} unused", created_at=authenticator.created_at,
            last_used_at=authenticator.last_used_at, fields={"remaining": remaining})

    def verify_form(self, **kwargs):
        from ..forms import RecoveryCodeForm

        return RecoveryCodeForm(**kwargs)
