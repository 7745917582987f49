"""What administrators set on a user's MFA (roq-mfa.txt "Enable MFA for existing users"); the
phone is the SMS factor's (``idp.mfa.sms.admin_set_phone``)."""
from __future__ import annotations

from .audit import record_event


def admin_set_mfa(user, enabled: bool) -> None:
    user.mfa_enabled = bool(enabled)
    record_event("mfa.user_flag_changed", realm=user.realm, user=user, enabled=bool(enabled), by="admin")

