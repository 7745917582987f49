"""Contract driver: an authenticator app (the code the app shows now, or one step later)."""
import time

import pyotp

from idp.mfa.totp.factor import credential_secret

LISTED_AS = "Authenticator app"


def _code(authenticator, steps_ahead=0):
    totp = pyotp.TOTP(credential_secret(authenticator))
    return totp.at(time.time() + steps_ahead * totp.interval)


def enrolment_response(pending, instance_path):
    return {"code": _code(pending)}


def right_response(factor, challenge, authenticator, instance_path):
    factor.begin(challenge)
    return {"code": _code(authenticator, steps_ahead=1)}


def wrong_response(authenticator):
    right = {_code(authenticator, s) for s in (-1, 0, 1)}
    return {"code": next(c for c in ("000000", "111111", "222222", "333333") if c not in right)}
