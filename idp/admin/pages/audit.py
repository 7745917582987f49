"""The audit log across realms, with filters (realm, user, type, dates) and a CSV export of
what the filters select."""
from __future__ import annotations

from flask import Response, request

from ...models import utcnow
from ...services.realms import list_realms
from .. import admin_bp
from ..audit_log import (
    PAGE_SIZE,
    audit_csv,
    audit_rows,
    event_types,
    filtered_events,
    parse_filters,
)
from ..console import page_offset, render


@admin_bp.get("/audit")
def audit():
    filters = parse_filters(request.args)
    offset = page_offset()
    if filters.errors:
        rows, next_offset, status = [], None, 400
    else:
        events = filtered_events(filters, limit=PAGE_SIZE + 1, offset=offset)
        rows = audit_rows(events[:PAGE_SIZE])
        next_offset = offset + PAGE_SIZE if len(events) > PAGE_SIZE else None
        status = 200
    return render("audit.html", status=status, filters=filters, rows=rows, offset=offset, next_offset=next_offset,
                  realms=list_realms(), event_types=event_types(), page_title="Audit log")


@admin_bp.get("/audit.csv")
def audit_export():
    filters = parse_filters(request.args)
    if filters.errors:
        return render("audit.html", status=400, filters=filters, rows=[], offset=0, next_offset=None,
                      realms=list_realms(), event_types=event_types(), page_title="Audit log")
    response = Response(audit_csv(filters), mimetype="text/csv")
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
