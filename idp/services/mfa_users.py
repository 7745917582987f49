"""What administrators set on a user's MFA (roq-mfa.txt "Enable MFA for existing users")."""
from __future__ import annotations

from .audit import record_event
from .phones import parse_phone


def admin_set_phone(user, raw_phone: str) -> None:
    """An admin-set phone counts as unverified until the user enters the first code, and cannot
    be swapped by the user during login."""
    if raw_phone == "":
        user.phone = None
        user.phone_verified = False
        user.phone_set_by_admin = False
        record_event("mfa.phone_removed", realm=user.realm, user=user, by="admin")
        return
    phone = parse_phone(raw_phone, allowed_countries=user.realm.sms_allowed_countries or None)
    if phone != user.phone:
        user.phone = phone
        user.phone_verified = False
    user.phone_set_by_admin = True
    record_event("mfa.phone_changed", realm=user.realm, user=user, by="admin")


def admin_set_mfa(user, enabled: bool) -> None:
    user.mfa_enabled = bool(enabled)
    record_event("mfa.user_flag_changed", realm=user.realm, user=user, enabled=bool(enabled), by="admin")

