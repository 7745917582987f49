"""Codes by mail to the account's address."""
from .factor import EmailFactor

FACTOR = EmailFactor()
