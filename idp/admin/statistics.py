"""What the dashboard counts, per UTC day over the last two weeks: logins, second-factor
successes and failures, text messages sent. A spike in SMS or in MFA failures is what an
operator looks for (SMS pumping, brute force)."""
from __future__ import annotations

import datetime as dt

from ..extensions import db
from ..models import AuditEvent, SmsMessage, utcnow

DAYS = 14


def last_days(days: int = DAYS, today: dt.date | None = None) -> list[dt.date]:
    today = today or utcnow().date()
    return [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


def _per_day(column, query, days: list[dt.date]) -> list[int]:
    start = dt.datetime.combine(days[0], dt.time(), tzinfo=dt.timezone.utc)
    day = db.func.date(column)
    rows = db.session.execute(
        query.add_columns(day.label("day"), db.func.count().label("n")).filter(column >= start).group_by(day)
    ).all()
    counts = {str(row.day)[:10]: row.n for row in rows}
    return [counts.get(d.isoformat(), 0) for d in days]


def events_per_day(event_type: str, days: list[dt.date], realm=None) -> list[int]:
    query = db.select().select_from(AuditEvent).filter(AuditEvent.event_type == event_type)
    if realm is not None:
        query = query.filter(AuditEvent.realm_id == realm.id)
    return _per_day(AuditEvent.created_at, query, days)


def sms_per_day(days: list[dt.date], realm=None) -> list[int]:
    query = db.select().select_from(SmsMessage)
    if realm is not None:
        query = query.filter(SmsMessage.realm_id == realm.id)
    return _per_day(SmsMessage.sent_at, query, days)
