"""Passkeys and security keys (WebAuthn): a second factor, and a sign-in of its own."""
from .factor import WebauthnFactor

FACTOR = WebauthnFactor()
