"""`idp purge` deletes exactly the rows that have expired, table by table, and keeps every row
something may still read: live logins, codes whose tokens a replay would revoke, refresh
tokens still usable, a revoked client_credentials token until it expires, recent texts and
audit events."""
from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from idp.services.purge import GRACE, PURGES

NOW = dt.datetime.now(dt.timezone.utc)
LONG_AGO = NOW - dt.timedelta(days=2)


def just_expired():
    """Half the grace period ago, from when the test runs (not when the module was imported:
    the suite can take longer than the grace period to reach this test)."""
    return dt.datetime.now(dt.timezone.utc) - GRACE / 2


LATER = NOW + dt.timedelta(hours=1)


class Seeded:
    """Rows made for the test, each marked as one the purge must delete or keep."""

    def __init__(self):
        self.doomed: dict[str, set] = {}
        self.kept: dict[str, set] = {}

    def add(self, row, *, doomed: bool, table: str | None = None):
        from idp.extensions import db

        if table is None:
            db.session.add(row)
            db.session.flush()
            table, key = row.__tablename__, row.id
        else:
            key = row
        (self.doomed if doomed else self.kept).setdefault(table, set()).add(key)
        return row


@pytest.fixture
def seeded(make_app, alice):
    """One or more rows of every expiring kind on either side of the line."""
    from idp.extensions import db
    from idp.models import (
        AuditEvent,
        Authenticator,
        AuthorizationCode,
        BrowserSession,
        EmailLink,
        IssuedToken,
        LoginTransaction,
        OtpChallenge,
        RememberedDevice,
        SmsMessage,
        Webhook,
        WebhookDelivery,
        rate_limit_counters,
    )
    from idp.services.realms import find_realm

    app = make_app()
    rows = Seeded()
    with app.app_context():
        realm_id, user_id = find_realm("acme").id, alice["id"]

        def txn(expires_at, status="pending"):
            return LoginTransaction(id=uuid.uuid4().hex, realm_id=realm_id, client_id="app", authorization_request={},
                                    browser_binding="b", status=status, expires_at=expires_at)

        rows.add(txn(LONG_AGO), doomed=True)
        rows.add(txn(LONG_AGO, "complete"), doomed=True)
        rows.add(txn(just_expired()), doomed=False)  # expired, but a request may still be finishing it
        rows.add(txn(LATER, "cancelled"), doomed=False)
        rows.add(txn(LATER), doomed=False)

        def code(expires_at, used=False):
            return AuthorizationCode(realm_id=realm_id, code_digest=uuid.uuid4().hex, client_id="app", user_id=user_id,
                                     redirect_uri="http://x/cb", auth_time=0, expires_at=expires_at,
                                     used_at=LONG_AGO if used else None)

        def token(access_expires_at, refresh_expires_at=None, *, user=True, revoked=False, code=None):
            return IssuedToken(realm_id=realm_id, client_id="app", user_id=user_id if user else None,
                               access_jti=uuid.uuid4().hex, access_expires_at=access_expires_at,
                               refresh_digest=uuid.uuid4().hex if refresh_expires_at else None,
                               refresh_expires_at=refresh_expires_at, family_id=uuid.uuid4().hex,
                               authorization_code_id=code.id if code else None, revoked_at=LONG_AGO if revoked else None)

        rows.add(code(LONG_AGO), doomed=True)
        rows.add(code(LATER), doomed=False)
        replayable = rows.add(code(LONG_AGO, used=True), doomed=False)  # its refresh token still works
        rows.add(token(LONG_AGO, LATER, code=replayable), doomed=False)
        spent = rows.add(code(LONG_AGO, used=True), doomed=True)  # its only token row goes in the same run
        rows.add(token(LONG_AGO, LONG_AGO, code=spent), doomed=True)

        rows.add(token(LONG_AGO), doomed=True)  # no refresh token, access expired
        rows.add(token(LATER), doomed=False)
        rows.add(token(LONG_AGO, LATER), doomed=False)  # its refresh token still works (or reveals a reuse)
        rows.add(token(LONG_AGO, LATER, revoked=True), doomed=False)
        rows.add(token(LATER, user=False, revoked=True), doomed=False)  # client_credentials deny-list entry
        rows.add(token(LONG_AGO, user=False, revoked=True), doomed=True)  # ... of a token expired since

        for expires_at, doomed in ((LONG_AGO, True), (LATER, False)):
            rows.add(OtpChallenge(realm_id=realm_id, user_id=user_id, factor="sms", purpose="login", destination="+14155550100", salt="s",
                                  code_digest="d", expires_at=expires_at), doomed=doomed)
            rows.add(EmailLink(realm_id=realm_id, user_id=user_id, purpose="verify_email",
                               token_digest=uuid.uuid4().hex, email="alice@example.com", expires_at=expires_at),
                     doomed=doomed)
            rows.add(RememberedDevice(realm_id=realm_id, user_id=user_id, cookie_digest=uuid.uuid4().hex,
                                      expires_at=expires_at), doomed=doomed)

        def browser_session(expires_at, revoked_at=None):
            return BrowserSession(cookie_digest=uuid.uuid4().hex, sid=uuid.uuid4().hex, realm_id=realm_id,
                                  user_id=user_id, auth_time=0, expires_at=expires_at, revoked_at=revoked_at)

        rows.add(browser_session(LONG_AGO), doomed=True)
        rows.add(browser_session(LATER, revoked_at=LONG_AGO), doomed=True)  # logged out
        rows.add(browser_session(LATER), doomed=False)

        for key, expires_at, doomed in (("old", time.time() - 86400, True), ("live", time.time() + 60, False)):
            db.session.execute(rate_limit_counters.insert().values(key=key, count=1, expires_at=expires_at))
            rows.add(key, doomed=doomed, table="rate_limit_counters")

        for days, doomed in ((100, True), (20, False)):  # retention 90 days
            rows.add(SmsMessage(realm_id=realm_id, user_id=user_id, phone="+14155550100",
                                sent_at=NOW - dt.timedelta(days=days)), doomed=doomed)
        for days, doomed in ((400, True), (300, False)):  # retention 365 days
            rows.add(AuditEvent(realm_id=realm_id, event_type="login.failed", details={},
                                created_at=NOW - dt.timedelta(days=days)), doomed=doomed)
        # the delivery log: kept for the retry window (24 h) and the retention (30 days) after it
        webhook = Webhook(realm_id=realm_id, url="https://hooks.example.com/idp", secret_encrypted="x")
        db.session.add(webhook)
        for days, status, doomed in ((32, "succeeded", True), (31.5, "pending", True), (30.5, "failed", False),
                                     (0, "pending", False)):
            rows.add(WebhookDelivery(webhook=webhook, message_id=uuid.uuid4().hex, event_type="user.created",
                                     payload="{}", status=status, created_at=NOW - dt.timedelta(days=days)),
                     doomed=doomed)
        # each visit to an authenticator setup page makes a pending one; never confirmed, it goes
        for created_at, state, doomed in ((LONG_AGO, "pending", True), (LONG_AGO, "active", False),
                                          (NOW, "pending", False)):
            rows.add(Authenticator(user_id=user_id, kind="totp", name="A", state=state, data={"secret": "x"},
                                   revision=0, created_at=created_at), doomed=doomed)
        db.session.commit()
        rows.before = _remaining(app)
    rows.app = app
    return rows


def _remaining(app) -> dict[str, set]:
    from idp.extensions import db

    with app.app_context():
        remaining = {}
        for purge in PURGES:
            table = db.metadata.tables[purge.table]
            key = next(iter(table.primary_key.columns))
            remaining[purge.table] = set(db.session.scalars(db.select(key)))
        return remaining


def test_purge_deletes_exactly_the_expired_rows_of_each_kind(seeded, idp):
    counts = idp("purge", "--json")

    expected = {table: len(seeded.doomed.get(table, ())) for table in counts}
    assert counts == expected
    remaining = _remaining(seeded.app)
    for table, kept in seeded.kept.items():
        assert kept <= remaining[table], f"{table}: a live row was deleted"
    for table, doomed in seeded.doomed.items():
        assert not doomed & remaining[table], f"{table}: an expired row is left"
    assert {table: seeded.before[table] - remaining[table] for table in remaining} == \
        {table: seeded.doomed.get(table, set()) for table in remaining}, "and nothing else went"


def test_every_expiring_table_has_a_purge(ctx):
    from idp.extensions import db
    from idp.services.purge import all_purges

    assert [purge.table for purge in all_purges()] == [
        "login_transactions", "issued_tokens", "authorization_codes", "otp_challenges", "email_links",
        "browser_sessions", "remembered_devices", "rate_limit_counters", "sms_messages", "audit_events",
        "webhook_deliveries", "api_keys", "authenticators", "users", "organization_invitations",
        "device_authorizations", "pushed_authorization_requests",
    ]
    expiring = {table.name for table in db.metadata.sorted_tables
                if any(column.name.endswith("expires_at") for column in table.columns)}
    assert expiring <= {purge.table for purge in all_purges()}, "a table with an expiry column and no purge"


def test_purge_prints_a_line_per_table_and_a_second_run_finds_nothing(seeded, idp):
    idp("purge")

    output = idp("purge")

    lines = output.splitlines()
    assert [line.split()[0] for line in lines] == [purge.table for purge in PURGES] + [
        "organization_invitations", "device_authorizations", "pushed_authorization_requests"]
    assert all(line.split()[1] == "0" for line in lines)


def test_purge_deletes_in_batches(seeded, monkeypatch):
    """Many expired rows go in several short transactions (one DELETE each), and all of them go."""
    import sqlalchemy as sa

    from idp.extensions import db
    from idp.models import LoginTransaction, utcnow
    from idp.services import purge
    from idp.services.realms import find_realm

    monkeypatch.setattr(purge, "BATCH_SIZE", 10)
    with seeded.app.app_context():
        realm_id = find_realm("acme").id
        for _ in range(25):
            db.session.add(LoginTransaction(id=uuid.uuid4().hex, realm_id=realm_id, client_id="",
                                            authorization_request={}, browser_binding="b",
                                            expires_at=utcnow() - dt.timedelta(days=1)))
        db.session.commit()
        deletes = []

        def count_deletes(conn, cursor, statement, *args):
            if statement.startswith("DELETE"):
                deletes.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count_deletes)
        try:
            deleted = purge.purge_login_transactions(None, utcnow() - GRACE)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count_deletes)

    assert deleted == 25 + len(seeded.doomed["login_transactions"])
    assert len(deletes) == 3, "10 + 10 + 7"


@pytest.mark.parametrize(("key", "value"), [
    ("sms_message_retention_days", 7), ("audit_event_retention_days", 1), ("purge_interval", -1),
])
def test_a_retention_shorter_than_the_dashboard_stops_start_up(make_app, key, value):
    from idp.config import ConfigError

    with pytest.raises(ConfigError, match=f"maintenance.{key}"):
        make_app(maintenance={key: value})


def test_retention_zero_keeps_texts_and_audit_events(seeded, runner, monkeypatch):
    monkeypatch.setenv("IDP_MAINTENANCE_SMS_MESSAGE_RETENTION_DAYS", "0")
    monkeypatch.setenv("IDP_MAINTENANCE_AUDIT_EVENT_RETENTION_DAYS", "0")

    result = runner("purge", "--json")

    assert result.exit_code == 0, result.output
    assert '"sms_messages": 0' in result.stdout and '"audit_events": 0' in result.stdout

