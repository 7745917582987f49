"""The audit log as the console shows it: every event a console request records names the
administrator (``details["by_admin"]``), and the log can be filtered and exported as CSV."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditEvent, Realm, User
from ..services.realms import find_realm
from ..services.users import email_key

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
CSV_COLUMNS = ("time", "realm", "event", "user_id", "user_email", "by_admin", "ip_address", "details")


def stamp_console_admin(session, flush_context, instances) -> None:
    """Events recorded by the services during a console request (``user.deleted``,
    ``mfa.phone_changed`` ...) get the administrator's email, like those the console records
    itself, without each service having to know who called it."""
    email = g.get("console_admin_email") if has_app_context() else None
    if not email:
        return
    for obj in session.new:
        if isinstance(obj, AuditEvent) and "by_admin" not in (obj.details or {}):
            obj.details = {**(obj.details or {}), "by_admin": email}


def install_admin_stamp() -> None:
    if not event.contains(Session, "before_flush", stamp_console_admin):
        event.listen(Session, "before_flush", stamp_console_admin)


@dataclass
class AuditFilters:
    """The filters of the audit page, parsed from its query string; ``errors`` by field."""

    realm: Realm | None = None
    user: str = ""
    event_type: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    errors: dict = field(default_factory=dict)

    def query_args(self) -> dict:
        args = {"realm": self.realm.name if self.realm else "", "user": self.user, "type": self.event_type,
                "since": self.since.isoformat() if self.since else "",
                "until": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in args.items() if v}


def _date(args, name: str, errors: dict) -> dt.date | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD, for example 2025-03-05."
        return None


def parse_filters(args) -> AuditFilters:
    errors: dict = {}
    filters = AuditFilters(errors=errors)
    realm_name = (args.get("realm") or "").strip()
    if realm_name:
        filters.realm = find_realm(realm_name) if len(realm_name) <= 64 else None
        if filters.realm is None:
            errors["realm"] = f"There is no realm named '{realm_name[:64]}'."
    filters.user = (args.get("user") or "").strip()[:320]
    filters.event_type = (args.get("type") or "").strip()[:64]
    filters.since = _date(args, "since", errors)
    filters.until = _date(args, "until", errors)
    if filters.since and filters.until and filters.since > filters.until:
        errors["until"] = "The end date is before the start date."
    return filters


def _query(filters: AuditFilters):
    query = db.select(AuditEvent)
    if filters.realm is not None:
        query = query.filter(AuditEvent.realm_id == filters.realm.id)
    if filters.user:
        if "@" in filters.user:
            ids = db.select(User.id).filter(User.email_normalized == email_key(filters.user))
            if filters.realm is not None:
                ids = ids.filter(User.realm_id == filters.realm.id)
            query = query.filter(AuditEvent.user_id.in_(ids))
        else:
            query = query.filter(AuditEvent.user_id == filters.user)
    if filters.event_type:
        query = query.filter(AuditEvent.event_type == filters.event_type)
    if filters.since:
        query = query.filter(AuditEvent.created_at >= _midnight(filters.since))
    if filters.until:
        query = query.filter(AuditEvent.created_at < _midnight(filters.until + dt.timedelta(days=1)))
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)


def filtered_events(filters: AuditFilters, *, limit: int = PAGE_SIZE, offset: int = 0) -> list[AuditEvent]:
    return list(db.session.scalars(_query(filters).limit(limit).offset(offset)))


def event_types() -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.event_type).distinct().order_by(AuditEvent.event_type)))


@dataclass
class AuditRow:
    """One event with the names the page and the CSV show."""

    event: AuditEvent
    realm_name: str
    user_email: str

    @property
    def by_admin(self) -> str:
        return (self.event.details or {}).get("by_admin", "")

    @property
    def details_text(self) -> str:
        details = {k: v for k, v in (self.event.details or {}).items() if k != "by_admin"}
        return ", ".join(f"{k}={_scalar(v)}" for k, v in sorted(details.items()))


def _scalar(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def audit_rows(events: list[AuditEvent]) -> list[AuditRow]:
    realm_names = dict(db.session.execute(db.select(Realm.id, Realm.name)).all())
    user_ids = {e.user_id for e in events if e.user_id}
    emails = dict(db.session.execute(db.select(User.id, User.email).filter(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    return [AuditRow(e, realm_names.get(e.realm_id, ""), emails.get(e.user_id, (e.details or {}).get("email", "")))
            for e in events]


def _cell(value) -> str:
    """Spreadsheet-safe: a cell that a spreadsheet would read as a formula gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(filters: AuditFilters) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in audit_rows(filtered_events(filters, limit=EXPORT_LIMIT)):
        e = row.event
        details = {k: v for k, v in (e.details or {}).items() if k != "by_admin"}
        writer.writerow([_cell(v) for v in (
            e.created_at.isoformat(), row.realm_name, e.event_type, e.user_id or "", row.user_email,
            row.by_admin, e.ip_address or "", json.dumps(details, sort_keys=True) if details else "")])
    return out.getvalue()
