"""Twilio's Messages API through the official ``twilio`` package (imported when a text is sent)."""
from .spec import PROVIDER

__all__ = ["PROVIDER"]
