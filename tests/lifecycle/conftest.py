"""Fixtures for the account life cycle: the MFA suite's realms, users and browsers (shared, so
both suites enrol users the same way), plus the mail outbox the provider writes to.

Mail is delivered by background threads; ``mailbox`` waits for them before it reads."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest

from ..mfa import conftest as mfa_fixtures

# fixtures shared with the MFA suite
mfa_settings = mfa_fixtures.mfa_settings
app = mfa_fixtures.app
in_app = mfa_fixtures.in_app
realm_factory = mfa_fixtures.realm_factory
user_factory = mfa_fixtures.user_factory
browser = mfa_fixtures.browser
age_sms = mfa_fixtures.age_sms
sms_code = mfa_fixtures.sms_code

LINK_RE = re.compile(r"https?://[^\s\"<>]+/(?:verify-email|reset-password|invitation)/[A-Za-z0-9_-]+")


class Mailbox:
    def __init__(self, app, path: Path):
        self.app = app
        self.path = path

    def messages(self, to: str | None = None) -> list[dict]:
        from idp.mail import wait_for_deliveries

        wait_for_deliveries(self.app)
        if not self.path.exists():
            return []
        rows = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return [m for m in rows if to is None or m["to"] == to]

    def subjects(self, to: str | None = None) -> list[str]:
        return [m["subject"] for m in self.messages(to)]

    def last(self, to: str | None = None, *, about: str = "") -> dict:
        for message in reversed(self.messages(to)):
            if about in message["subject"]:
                return message
        raise AssertionError(f"no mail about {about!r} to {to!r}; subjects: {self.subjects()}")

    def link(self, to: str | None = None, *, about: str = "") -> str:
        """The link in the last mail ``about`` something, as the user would click it."""
        message = self.last(to, about=about)
        match = LINK_RE.search(message["text"])
        assert match, f"no link in {message['text']!r}"
        assert html.escape(match.group(0)) in message["html"] or match.group(0) in message["html"]
        return match.group(0)


@pytest.fixture
def mailbox(app, instance_path) -> Mailbox:
    return Mailbox(app, Path(instance_path) / "mail-outbox.jsonl")


@pytest.fixture
def age_links(in_app):
    """Move every mailed link, and the counters of mails sent, ``seconds`` into the past
    (expiry and cool-downs count from these)."""

    def age(seconds: int):
        from idp.extensions import db
        from idp.models import EmailLink, rate_limit_counters

        with in_app():
            for row in db.session.scalars(db.select(EmailLink)):
                row.created_at -= dt.timedelta(seconds=seconds)
                row.expires_at -= dt.timedelta(seconds=seconds)
            db.session.execute(rate_limit_counters.update().values(
                expires_at=rate_limit_counters.c.expires_at - seconds))
            db.session.commit()

    return age


@pytest.fixture
def audit_events(in_app):
    def events(event_type: str) -> list[dict]:
        from idp.extensions import db
        from idp.models import AuditEvent

        with in_app():
            rows = db.session.scalars(db.select(AuditEvent).filter_by(event_type=event_type).order_by(AuditEvent.id))
            return [dict(row.details or {}, user_id=row.user_id) for row in rows]

    return events


def drop_browser_session(login) -> None:
    """The browser's single-sign-on session ends (it expired, or the user logged out)."""
    login.http.delete_cookie("idp_session", path="/realms/acme/")


def stored_user(in_app, user_id):
    from idp.extensions import db
    from idp.models import User

    with in_app():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user
