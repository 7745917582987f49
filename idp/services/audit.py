"""``record_event`` lives in ``idp.events`` (the event bus); it is re-exported here because most
services record their events through this module."""
from __future__ import annotations

from ..events import record_event

__all__ = ["record_event"]
