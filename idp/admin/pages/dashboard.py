"""The dashboard: logins, second-factor results and text messages per day, as SVG charts."""
from __future__ import annotations

from flask import request

from ...services.realms import find_realm
from .. import admin_bp
from ..charts import Series, bar_chart
from ..console import render
from ..statistics import events_per_day, last_days, sms_per_day


@admin_bp.get("/")
def dashboard():
    name = (request.args.get("realm") or "").strip()
    realm = find_realm(name) if name and len(name) <= 64 else None
    days = last_days()
    scope = f"in realm {realm.display_name}" if realm else "in all realms"
    charts = [
        bar_chart("logins", "Logins per day", f"Successful logins {scope}, last {len(days)} days (UTC).", days,
                  [Series("Logins", "bar--primary", events_per_day("login.succeeded", days, realm))]),
        bar_chart("mfa", "Second-factor results per day",
                  f"Second-factor codes accepted and refused {scope}, last {len(days)} days (UTC).", days,
                  [Series("Succeeded", "bar--success", events_per_day("mfa.succeeded", days, realm)),
                   Series("Failed", "bar--danger", events_per_day("mfa.failed", days, realm))]),
        bar_chart("sms", "SMS sent per day", f"Text messages sent {scope}, last {len(days)} days (UTC).", days,
                  [Series("SMS sent", "bar--warning", sms_per_day(days, realm))]),
    ]
    return render("dashboard.html", charts=charts, selected_realm=realm, page_title="Dashboard")
