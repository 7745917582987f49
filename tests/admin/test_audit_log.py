"""The audit log: filters (realm, user, type, dates), CSV export, and every change made in
the console named after the administrator who made it."""
from __future__ import annotations

import csv
import datetime as dt
import io

from .conftest import PHONE, user_id


def _event(in_app, event_type, *, realm="acme", email=None, days_ago=0, **details):
    from idp.extensions import db
    from idp.models import AuditEvent, utcnow
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    with in_app():
        realm_row = get_realm(realm)
        user = get_user(realm_row, email) if email else None
        db.session.add(AuditEvent(realm_id=realm_row.id, user_id=user.id if user else None, event_type=event_type,
                                  details=details, created_at=utcnow() - dt.timedelta(days=days_ago)))
        db.session.commit()


def _csv(browser, query=""):
    response = browser.http.get(f"/admin/audit.csv{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_filters_by_realm_user_type_and_dates(console, target_realm, in_app):
    target_realm()
    _event(in_app, "login.succeeded", email="alice@example.com")
    _event(in_app, "login.failed", email="alice@example.com", days_ago=10)
    _event(in_app, "login.failed", realm="default")
    browser = console("viewer")

    browser.get("/admin/audit?realm=acme&type=login.failed")
    assert browser.page.count("<td>login.failed</td>") == 1, "acme's failure, not default's"
    browser.get("/admin/audit?user=alice@example.com")
    assert "login.succeeded" in browser.text() and "alice@example.com" in browser.text()
    alice = user_id(in_app, "acme", "alice@example.com")
    rows = _csv(browser, f"?user={alice}")
    assert [r["event"] for r in rows] == ["login.succeeded", "user.created", "login.failed"], "newest first"
    today = dt.datetime.now(dt.timezone.utc).date()
    since = (today - dt.timedelta(days=2)).isoformat()
    rows = _csv(browser, f"?realm=acme&user=alice@example.com&since={since}&until={today.isoformat()}")
    assert [r["event"] for r in rows] == ["login.succeeded", "user.created"], "not the failure of 10 days ago"


def test_bad_filters_are_a_400_with_the_field_error(console):
    browser = console("viewer")
    browser.get("/admin/audit?since=yesterday&realm=nowhere")
    assert browser.status == 400
    assert "Enter a date as YYYY-MM-DD" in browser.text()
    assert "There is no realm named 'nowhere'." in browser.text()
    assert 'id="audit-since" name="since" type="date" value="yesterday" aria-invalid="true"' in browser.page
    assert browser.http.get("/admin/audit.csv?until=2025-13-01").status_code == 400
    browser.get("/admin/audit?since=2025-03-05&until=2025-03-01")
    assert browser.status == 400 and "The end date is before the start date." in browser.text()


def test_csv_export_has_a_header_and_is_safe_to_open_in_a_spreadsheet(console, target_realm, in_app):
    target_realm()
    _event(in_app, "custom.note", note="=HYPERLINK(\"http://evil\")", name="@x")
    browser = console("viewer")
    response = browser.http.get("/admin/audit.csv?type=custom.note")
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "time,realm,event,user_id,user_email,by_admin,ip_address,details"
    [row] = _csv(browser, "?type=custom.note")
    assert row["realm"] == "acme" and row["details"].startswith("{")
    assert response.headers["Cache-Control"] == "no-store"


def test_cells_that_look_like_formulas_get_a_quote():
    from idp.admin.audit_log import _cell

    assert [_cell(v) for v in ("=1+1", "+1", "-1", "@x", "plain", None)] == ["'=1+1", "'+1", "'-1", "'@x", "plain", ""]


def test_every_change_made_in_the_console_names_the_admin(console, target_realm, in_app, audit_events):
    acme = target_realm()
    browser = console("owner")
    alice = user_id(in_app, "acme", "alice@example.com")
    browser.post("/admin/realms/acme/sms-integrations", {"kind": "outbox", "name": "outbox", "active": "y"})
    browser.post("/admin/realms/acme", {"display_name": "Acme", "theme": "default", "mfa_enabled": "y",
                                        "sms_enabled": "y", "mfa_login_form": "y"})
    browser.post(f"/admin/realms/acme/users/{alice}", {"mfa_enabled": "y", "phone": PHONE})
    browser.post(f"/admin/realms/acme/users/{alice}/lock")
    browser.post(f"/admin/realms/acme/clients/{acme.client_id}/rotate-secret")

    rows = _csv(browser, "?realm=acme")
    by_console = [r for r in rows if r["event"] not in ("user.created", "client.created")]
    assert {r["event"] for r in by_console} >= {
        "sms_integration.added", "realm.settings_changed", "mfa.phone_changed", "mfa.user_flag_changed",
        "user.locked", "client.secret_rotated"}
    assert {r["by_admin"] for r in by_console} == {"owner@example.com"}
    assert audit_events("mfa.user_flag_changed") == [
        ({"enabled": True, "by": "admin", "by_admin": "owner@example.com"}, alice)]
    browser.get("/admin/audit?realm=acme&type=user.locked")
    assert "owner@example.com" in browser.text()


def test_events_outside_the_console_name_no_admin(console, target_realm, in_app, audit_events):
    from idp.extensions import db
    from idp.services.mfa_users import admin_set_mfa
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    target_realm()
    console("owner")
    with in_app():
        admin_set_mfa(get_user(get_realm("acme"), "alice@example.com"), True)
        db.session.commit()
    assert "by_admin" not in audit_events("mfa.user_flag_changed")[0][0]
