"""The development provider: texts are appended to a file in the instance folder."""
from .sender import OutboxSender
from .spec import PROVIDER

__all__ = ["PROVIDER", "OutboxSender"]
