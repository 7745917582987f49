"""The dashboard: logins, second-factor results and SMS sent per day for 14 days, drawn on the
server as SVG (no script), with the numbers in a table too."""
from __future__ import annotations

import datetime as dt
import re

from idp.admin.charts import Series, bar_chart
from idp.admin.statistics import last_days


def _record(in_app, realm_name, event_type, days_ago=0, count=1):
    from idp.extensions import db
    from idp.models import AuditEvent, SmsMessage, utcnow
    from idp.services.realms import get_realm

    with in_app():
        realm = get_realm(realm_name)
        when = utcnow() - dt.timedelta(days=days_ago)
        for _ in range(count):
            if event_type == "sms":
                db.session.add(SmsMessage(realm_id=realm.id, phone="+14155550100", sent_at=when))
            else:
                db.session.add(AuditEvent(realm_id=realm.id, event_type=event_type, details={}, created_at=when))
        db.session.commit()


def test_dashboard_draws_logins_mfa_results_and_sms_per_day(console, in_app, target_realm):
    target_realm()
    browser = console("viewer")
    _record(in_app, "acme", "login.succeeded", days_ago=1, count=3)
    _record(in_app, "acme", "mfa.failed", days_ago=0, count=7)
    _record(in_app, "acme", "mfa.succeeded", days_ago=0, count=2)
    _record(in_app, "acme", "sms", days_ago=2, count=4)
    _record(in_app, "acme", "sms", days_ago=20, count=50)

    browser.get("/admin/?realm=acme")
    page = browser.page
    assert browser.status == 200
    assert page.count('<svg class="chart-svg"') == 3
    yesterday = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    assert f"<title>{yesterday.day} {yesterday.strftime('%b')}: 3 logins</title>" in page
    assert "Failed: 7 in total" in browser.text()
    assert "Succeeded: 2 in total" in browser.text()
    assert "SMS sent: 4 in total" in browser.text(), "only the last 14 days count"
    assert "<script" not in page and " style=" not in page


def test_dashboard_of_one_realm_leaves_out_the_others(console, in_app, target_realm):
    target_realm()
    browser = console("viewer")
    _record(in_app, "default", "login.succeeded", count=5)
    browser.get("/admin/?realm=acme")
    assert "Logins: 0 in total" in browser.text()
    browser.get("/admin/")
    assert re.search(r"Logins: [5-9] in total", browser.text()), "the admin's own login counts too"


def test_bar_heights_are_proportional_and_the_axis_rounds_up():
    days = last_days(3, today=dt.date(2025, 3, 5))
    chart = bar_chart("c", "Title", "Description", days, [Series("A", "bar--primary", [0, 5, 10])])
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0 and abs(heights[2] - 2 * heights[1]) < 0.2
    assert [value for _, value in chart.ticks] == [0, 3, 6, 9, 12]
    assert [label for _, label in chart.day_labels] == ["3 Mar", "4 Mar", "5 Mar"]
