"""Recovery codes: the backup factor every other factor brings."""
from .factor import RecoveryCodeFactor, recovery_codes_remaining

FACTOR = RecoveryCodeFactor()

__all__ = ["FACTOR", "RecoveryCodeFactor", "recovery_codes_remaining"]
