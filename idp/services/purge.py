"""Deleting what has expired, table by table.

Anything an anonymous caller can make us store expires: login transactions, texted codes,
mailed links, rate-limit counters, the audit events of failed logins. ``PURGES`` holds one purge
per table whose rows expire, and ``purge_expired`` runs them all: ``idp purge`` on the command
line, and the server every ``maintenance.purge_interval`` seconds (``idp.maintenance``). A new
table whose rows expire adds one function and one line to ``PURGES``.

Each purge deletes in batches of ``BATCH_SIZE`` rows, oldest first along an indexed column, one
short transaction per batch, so a run never holds a long lock on PostgreSQL. The ``DELETE``
repeats the condition, so a row that came back to life between the batch's select and its
delete (a rate-limit counter whose window restarted) stays. Rows go ``GRACE`` after they expire,
not at once: a request that loaded one just before its expiry may still be finishing with it.

What each table keeps, and why:

- ``login_transactions``: until they expire, whatever their status. A finished login's row is no
  longer needed, but the request that finished it may still be reading it, and the rows an
  attacker can make in bulk are pending ones, which the expiry bounds anyway.
- ``issued_tokens``: until the access token and the refresh token, if any, have both expired.
  Until then the row is what makes a rotated-out refresh token revoke its family and a revoked
  access token inactive. A revoked ``client_credentials`` token's row (its deny-list entry, with
  no refresh token) therefore stays until that token expires. After, a token of the row is
  refused as unknown, as it would be as expired.
- ``authorization_codes``: an unused code at its expiry; a used one while a token row issued from
  it remains, since those rows are what a replay of the code revokes (RFC 6749 §4.1.2,
  ``AuthorizationCodeGrant.query_authorization_code``). Once they are purged a replay has
  nothing left to revoke and is refused as an unknown code. The code's ``nonce`` is remembered
  as long (``IdpOpenIDCode.exists_nonce``). Runs after ``issued_tokens`` for that reason.
- ``otp_challenges``, ``email_links``, ``remembered_devices``: at expiry (the resend cool-downs
  look back less than a lifetime).
- ``browser_sessions``: expired or logged out (revoked).
- ``rate_limit_counters``: once their window has ended.
- ``sms_messages``: after ``maintenance.sms_message_retention_days``; at least
  ``MINIMUM_RETENTION_DAYS``, as the SMS caps look back a day and the console's dashboard two
  weeks (0 keeps them).
- ``audit_events``: after ``maintenance.audit_event_retention_days`` (default 365; 0 keeps them).
- ``webhook_deliveries``: ``webhooks.delivery_retention_days`` after the retry window
  (``webhooks.retry_window_hours``) of the delivery ended, whatever its status: by then it has
  succeeded or been given up (a delivery no worker ever picked up goes too).
- ``dpop_proofs`` (``idp.oidc.dpop``, registered by the protocol layer): at expiry, twice the
  ``iat`` window after the proof was seen; the table is also capped
  (``tokens.dpop_max_remembered_proofs``).
- ``api_keys``: a key that expired or was revoked stays listed (what it was, when it was last
  used) as long as the audit events about it: it goes ``audit_event_retention_days`` after it
  stopped working (0 keeps them).
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, NamedTuple

import sqlalchemy as sa

from ..config import ConfigError
from ..extensions import db
from ..models import (
    ApiKey,
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
    WebhookDelivery,
    rate_limit_counters,
    utcnow,
)
from .users import delete_abandoned_registrations

BATCH_SIZE = 500
GRACE = dt.timedelta(minutes=5)
#: The console's dashboard charts two weeks of texts and audit events (``admin.statistics.DAYS``).
MINIMUM_RETENTION_DAYS = 14


def delete_in_batches(key, condition, oldest_first) -> int:
    """Delete the rows of ``key``'s table that meet ``condition``, ``BATCH_SIZE`` at a time in
    the order of the indexed column ``oldest_first``, committing each batch. Returns the count."""
    table = key.table
    batch_size = BATCH_SIZE
    total = 0
    while True:
        batch = sa.select(key).where(condition).order_by(oldest_first).limit(batch_size)
        deleted = db.session.execute(sa.delete(table).where(key.in_(batch), condition)).rowcount
        db.session.commit()
        total += deleted
        if deleted < batch_size:
            return total


def purge_login_transactions(settings, expired_before: dt.datetime) -> int:
    return delete_in_batches(LoginTransaction.id, LoginTransaction.expires_at <= expired_before,
                             LoginTransaction.expires_at)


def purge_issued_tokens(settings, expired_before: dt.datetime) -> int:
    access_over = IssuedToken.access_expires_at <= expired_before
    with_refresh = delete_in_batches(
        IssuedToken.id, sa.and_(IssuedToken.refresh_expires_at <= expired_before, access_over),
        IssuedToken.refresh_expires_at)
    access_only = delete_in_batches(
        IssuedToken.id, sa.and_(IssuedToken.refresh_expires_at.is_(None), access_over),
        IssuedToken.refresh_expires_at)
    return with_refresh + access_only


def purge_authorization_codes(settings, expired_before: dt.datetime) -> int:
    tokens_issued_from_it = sa.exists().where(IssuedToken.authorization_code_id == AuthorizationCode.id)
    return delete_in_batches(
        AuthorizationCode.id,
        sa.and_(AuthorizationCode.expires_at <= expired_before,
                sa.or_(AuthorizationCode.used_at.is_(None), ~tokens_issued_from_it)),
        AuthorizationCode.expires_at)


def purge_otp_challenges(settings, expired_before: dt.datetime) -> int:
    return delete_in_batches(OtpChallenge.id, OtpChallenge.expires_at <= expired_before, OtpChallenge.expires_at)


def purge_email_links(settings, expired_before: dt.datetime) -> int:
    return delete_in_batches(EmailLink.id, EmailLink.expires_at <= expired_before, EmailLink.expires_at)


def purge_browser_sessions(settings, expired_before: dt.datetime) -> int:
    expired = delete_in_batches(BrowserSession.id, BrowserSession.expires_at <= expired_before,
                                BrowserSession.expires_at)
    logged_out = delete_in_batches(BrowserSession.id, BrowserSession.revoked_at <= expired_before,
                                   BrowserSession.revoked_at)
    return expired + logged_out


def purge_remembered_devices(settings, expired_before: dt.datetime) -> int:
    return delete_in_batches(RememberedDevice.id, RememberedDevice.expires_at <= expired_before,
                             RememberedDevice.expires_at)


def purge_rate_limit_counters(settings, expired_before: dt.datetime) -> int:
    """The counters of ``idp.ratelimit.DatabaseStorage`` (empty when they live in Redis, which
    expires its own keys); ``expires_at`` is a Unix time there."""
    expires_at = rate_limit_counters.c.expires_at
    return delete_in_batches(rate_limit_counters.c.key, expires_at <= expired_before.timestamp(), expires_at)


def delete_older_than(days: int, key, when) -> int:
    """A retention: rows whose ``when`` is more than ``days`` old (0 keeps them all)."""
    if not days:
        return 0
    return delete_in_batches(key, when < utcnow() - dt.timedelta(days=days), when)


def purge_sms_messages(settings, expired_before: dt.datetime) -> int:
    return delete_older_than(settings.maintenance.sms_message_retention_days, SmsMessage.id, SmsMessage.sent_at)


def purge_audit_events(settings, expired_before: dt.datetime) -> int:
    return delete_older_than(settings.maintenance.audit_event_retention_days, AuditEvent.id, AuditEvent.created_at)


def purge_webhook_deliveries(settings, expired_before: dt.datetime) -> int:
    kept = dt.timedelta(hours=settings.webhooks.retry_window_hours, days=settings.webhooks.delivery_retention_days)
    return delete_in_batches(WebhookDelivery.id, WebhookDelivery.created_at <= expired_before - kept,
                             WebhookDelivery.created_at)
def purge_api_keys(settings, expired_before: dt.datetime) -> int:
    days = settings.maintenance.audit_event_retention_days
    if not days:
        return 0
    ended_before = utcnow() - dt.timedelta(days=days)
    return delete_in_batches(ApiKey.id, sa.or_(ApiKey.revoked_at < ended_before, ApiKey.expires_at < ended_before),
                             ApiKey.id)


#: An authenticator app set up and never confirmed with a code (a visit to the setup page makes one).
PENDING_AUTHENTICATOR_LIFETIME = dt.timedelta(days=1)


def purge_pending_authenticators(settings, expired_before: dt.datetime) -> int:
    return delete_in_batches(
        Authenticator.id,
        sa.and_(Authenticator.state == "pending",
                Authenticator.created_at <= expired_before - PENDING_AUTHENTICATOR_LIFETIME),
        Authenticator.created_at)


def purge_abandoned_registrations(settings, expired_before: dt.datetime) -> int:
    """Accounts registered but never verified within a week (``users.ABANDONED_AFTER``):
    anonymous callers create them, so they go too."""
    total = 0
    while True:
        deleted = delete_abandoned_registrations(limit=BATCH_SIZE)
        db.session.commit()
        total += deleted
        if deleted < BATCH_SIZE:
            return total


class Purge(NamedTuple):
    table: str
    run: Callable[..., int]


#: One line per table whose rows expire, in the order they run.
PURGES: list[Purge] = [
    Purge("login_transactions", purge_login_transactions),
    Purge("issued_tokens", purge_issued_tokens),
    Purge("authorization_codes", purge_authorization_codes),
    Purge("otp_challenges", purge_otp_challenges),
    Purge("email_links", purge_email_links),
    Purge("browser_sessions", purge_browser_sessions),
    Purge("remembered_devices", purge_remembered_devices),
    Purge("rate_limit_counters", purge_rate_limit_counters),
    Purge("sms_messages", purge_sms_messages),
    Purge("audit_events", purge_audit_events),
    Purge("webhook_deliveries", purge_webhook_deliveries),
    Purge("api_keys", purge_api_keys),
    Purge("authenticators", purge_pending_authenticators),
    Purge("users", purge_abandoned_registrations),
]


def register_purge(app, purge: Purge) -> None:
    """A purge brought by a plug-in (a grant's own table), run after ``PURGES``."""
    app.extensions.setdefault("idp.purges", []).append(purge)


def all_purges() -> list[Purge]:
    """``PURGES`` and those the current app's plug-ins registered, in the order they run."""
    from flask import current_app

    return PURGES + list(current_app.extensions.get("idp.purges", []))


def purge_expired(settings) -> dict[str, int]:
    """Run every purge (inside an app context); the number of rows deleted per table."""
    expired_before = utcnow() - GRACE
    return {purge.table: purge.run(settings, expired_before) for purge in all_purges()}


def check_retention_settings(settings) -> None:
    """Start-up check of the ``[maintenance]`` keys: a retention keeps at least what the SMS caps
    and the dashboard read, or is 0 (keep everything)."""
    section = settings.maintenance
    if section.purge_interval < 0:
        raise ConfigError("maintenance.purge_interval: must be 0 (off) or a number of seconds")
    for key in ("sms_message_retention_days", "audit_event_retention_days"):
        days = getattr(section, key)
        if days != 0 and days < MINIMUM_RETENTION_DAYS:
            raise ConfigError(f"maintenance.{key}: must be 0 (keep them) or at least {MINIMUM_RETENTION_DAYS} "
                              f"days (the console's dashboard shows two weeks), got {days}")
