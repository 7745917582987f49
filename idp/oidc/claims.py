"""The user's claims a scope releases (ID token, userinfo)."""
from __future__ import annotations


def user_claims(user, scope: str) -> dict:
    scopes = set((scope or "").split())
    claims = {"sub": user.id}
    if "profile" in scopes:
        claims["name"] = user.name or ""
        claims["preferred_username"] = user.email
    if "email" in scopes:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    return claims
