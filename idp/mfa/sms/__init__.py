"""Codes by text message to the user's phone."""
from .factor import SmsFactor, admin_set_phone, phone_credential, phone_on_record, phone_verified

FACTOR = SmsFactor()

__all__ = ["FACTOR", "SmsFactor", "admin_set_phone", "phone_credential", "phone_on_record", "phone_verified"]
