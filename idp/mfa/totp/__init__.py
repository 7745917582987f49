"""Authenticator apps (TOTP, RFC 6238 via pyotp)."""
from .factor import TotpFactor

FACTOR = TotpFactor()
