from __future__ import annotations

from flask import has_request_context, request

from ..extensions import db
from ..models import AuditEvent


def record_event(event_type: str, *, realm=None, user=None, user_id=None, **details) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits with its own work).
    Security events also mail the user and forget their remembered devices
    (``idp.lifecycle.notifications``)."""
    event = AuditEvent(
        realm_id=realm.id if realm is not None else None,
        user_id=user.id if user is not None else user_id,
        event_type=event_type,
        details={k: v for k, v in details.items() if v is not None},
    )
    if has_request_context():
        event.ip_address = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:400]
    db.session.add(event)
    if user is not None:
        from ..lifecycle.notifications import after_audit_event

        after_audit_event(event, user)
    return event
