"""Security notifications (OWASP ASVS V2.5.5) and their other consequence, forgetting remembered
devices: both driven from the audit events, in this one place. ``notify_on_event`` and
``forget_devices_on_event`` receive ``idp.events.event_recorded`` (connected by
``idp.lifecycle.init_app``).

Mailed to the user (template ``mail/security_notice_*``, once the work that recorded the event
commits): an authenticator app added or removed, the phone changed or removed, all factors
reset by an administrator, recovery codes regenerated or used, the password changed, a TOTP
code reused, an upstream account linked or unlinked (also when a reset or verification removed
a link made without a proven address), password logins locked after too many wrong passwords
(once per lock). The *first* set of recovery codes is not mailed: it is generated with the
user's first factor, whose own mail ("added") already tells them. Regenerated sets are.

Forgetting every remembered device: the password changed, a factor added, removed or reset,
the phone changed or removed, recovery codes regenerated, the user's MFA flag changed."""
from __future__ import annotations

from flask import current_app, has_request_context

from ..extensions import db
from ..models import AuditEvent, utcnow

NOTIFIED_EVENTS = frozenset({
    "mfa.device_added",
    "mfa.device_removed",
    "mfa.phone_changed",
    "mfa.phone_removed",
    "mfa.factors_reset",
    "mfa.recovery_codes_generated",
    "mfa.recovery_code_used",
    "user.password_changed",
    "mfa.totp_replayed",
    "federation.linked",
    "federation.unlinked",
    "login.locked",
})

FORGETS_REMEMBERED_DEVICES = frozenset({
    "user.password_changed",
    "mfa.device_added",
    "mfa.device_removed",
    "mfa.phone_changed",
    "mfa.phone_removed",
    "mfa.factors_reset",
    "mfa.recovery_codes_generated",
    "mfa.user_flag_changed",
})


def forget_devices_on_event(event: AuditEvent, *, user=None, **_) -> None:
    """Receiver of ``event_recorded``: a change to how the user logs in forgets every browser
    remembered for them (in the transaction that records the change)."""
    if user is None or event.event_type not in FORGETS_REMEMBERED_DEVICES or _first_recovery_codes(event, user):
        return
    from ..services.sign_out import forget_all_devices

    forget_all_devices(user, reason=event.event_type)


def notify_on_event(event: AuditEvent, *, user=None, **_) -> None:
    """Receiver of ``event_recorded``: the security notice, mailed once the change commits."""
    if user is None or event.event_type not in NOTIFIED_EVENTS or _first_recovery_codes(event, user):
        return
    notify_user(event, user)


def _first_recovery_codes(event: AuditEvent, user) -> bool:
    """The first set comes with the first factor, whose own notice already tells the user."""
    if event.event_type != "mfa.recovery_codes_generated":
        return False
    with db.session.no_autoflush:
        earlier = db.session.scalar(
            db.select(AuditEvent.id).filter_by(user_id=user.id, event_type="mfa.recovery_codes_generated").limit(1))
    return earlier is None


def notify_user(event: AuditEvent, user) -> None:
    """Mail the notice once the work that recorded the event commits. It is composed then, in
    the background, so the request that caused it (a lock after wrong passwords, say) takes the
    same time as one that mails nothing. A notice that cannot be composed is logged: it never
    blocks the change it reports."""
    from ..i18n import current_locale
    from ..mail import compose_and_deliver_after_commit
    from .devices import describe_browser

    if not user.email:
        return
    compose_and_deliver_after_commit(
        _compose_notice, user.id, event.event_type, dict(event.details or {}), utcnow(), event.ip_address,
        describe_browser(event.user_agent) if event.user_agent else None, _account_url(user.realm),
        current_locale())


def _compose_notice(user_id, event_type, details, occurred_at, ip_address, browser, account_url, locale):
    from flask_babel import force_locale

    from ..mail import compose
    from ..models import User

    user = db.session.get(User, user_id)
    if user is None or not user.email:
        return None
    try:
        with force_locale(locale):
            return compose(user.realm, "security_notice", to=user.email, user=user, event=event_type,
                           details=details, occurred_at=occurred_at, ip_address=ip_address, browser=browser,
                           account_url=account_url)
    except Exception:  # a broken theme template must not undo a security change
        current_app.logger.exception("security notice %s not composed", event_type)
        return None


def _account_url(realm) -> str | None:
    public_url = current_app.extensions["idp.settings"].server.public_url
    if has_request_context():
        from .links import absolute_url

        return absolute_url("account.home", realm_name=realm.name)
    if public_url:
        return f"{public_url.rstrip('/')}/realms/{realm.name}/account"
    return None
