"""The interface every second factor implements, and the registry the views use.

Views never branch on a factor's type: they ask the registry for the factors a user can use
and call the same small surface on each. Adding WebAuthn should mean one module and one line
in ``FACTORS``."""
from __future__ import annotations

from dataclasses import dataclass

from ..i18n import _l


class FactorError(Exception):
    """A factor could not do what was asked (SMS not sent, cap reached); the message is for the user."""

    def __init__(self, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass
class Challenge:
    """Who is being challenged, and for what: a login transaction id or an account action.
    A code issued for one binding never verifies another."""

    realm: object
    user: object
    binding: str
    phone: str | None = None


class Factor:
    kind = ""
    #: RFC 8176 methods added to ``amr`` (with "mfa") when this factor succeeds.
    amr: tuple[str, ...] = ()
    choice_label = ""
    choice_description = ""
    code_label = _l("Code")

    def enabled(self, realm) -> bool:
        raise NotImplementedError

    def enrolled(self, user) -> bool:
        """Can this factor be used by this user right now (without enrolment)?"""
        raise NotImplementedError

    def begin(self, challenge: Challenge) -> None:
        """Prepare a verification (send a code by SMS); a no-op for codes the user generates."""

    def verify(self, challenge: Challenge, code: str) -> bool:
        raise NotImplementedError

    def page_context(self, challenge: Challenge) -> dict:
        """What the code page shows for this factor."""
        return {}


def normalize_code(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "")


def factors():
    from .recovery import RecoveryCodeFactor
    from .sms import SmsFactor
    from .totp import TotpFactor

    return {"totp": TotpFactor(), "sms": SmsFactor(), "recovery": RecoveryCodeFactor()}


FACTOR_ORDER = ("totp", "sms")


def get_factor(kind: str) -> Factor | None:
    return factors().get(kind)


def usable_factors(realm, user) -> list[Factor]:
    """Factors the user holds that the realm allows, in order of preference (recovery excluded)."""
    registry = factors()
    return [registry[k] for k in FACTOR_ORDER if registry[k].enabled(realm) and registry[k].enrolled(user)]


def enrollable_factors(realm) -> list[Factor]:
    registry = factors()
    return [registry[k] for k in FACTOR_ORDER if registry[k].enabled(realm)]
