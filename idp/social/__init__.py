"""Logging in through upstream identity providers (social and enterprise OpenID Connect).

Federated logins skip our MFA by default ("2FA is triggered only for password logins",
authrocket-2fa.txt); per provider, ``mfa_mode`` can be ``upstream`` (skip only when the
upstream says it did MFA) or ``require`` (always run ours)."""
