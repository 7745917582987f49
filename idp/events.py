"""The event bus inside the process: ``record_event`` adds the audit row to the caller's
transaction and sends ``event_recorded``; whatever reacts to events subscribes to that signal
from its own package's ``init_app`` (``create_app`` wires them), so no low layer imports the
ones above it and a new event needs no edit to a list somewhere else.

Subscribers today:

- ``idp.lifecycle.notifications``: mails the user security notices and forgets their
  remembered devices.
- ``idp.webhooks``: writes one pending delivery per webhook of the realm that wants the event,
  in the same transaction as the event (the transactional outbox), for ``idp worker`` to send.

A receiver runs inside the caller's transaction, before its commit: it may add rows (they
commit or roll back with the change that caused the event) but must not commit, and work
that has to wait for the commit (sending mail) registers itself to run after it.

``EVENT_TYPES`` is the catalogue of event types, with what each means: the README and the
OpenAPI document list it, and a webhook subscribes to types from it (or to ``family.*``)."""
from __future__ import annotations

from blinker import Namespace
from flask import g, has_app_context, has_request_context, request

from .extensions import db
from .models import AuditEvent, utcnow

_signals = Namespace()

event_recorded = _signals.signal("event-recorded")
"""Sent by ``record_event`` with the new ``AuditEvent`` as sender and keywords ``realm``
and ``user`` (the ``Realm`` and ``User`` the event is about, each possibly None)."""

EVENT_TYPES: dict[str, str] = {
    "admin.credential_setup_started": "A console administrator started setting up a second factor for a user.",
    "admin.role_changed": "A console administrator's role was given, changed or taken away.",
    "api_key.created": "A management API key was created.",
    "api_key.revoked": "A management API key was revoked.",
    "client.created": "A client (relying app) was registered.",
    "client.deleted": "A client was deleted.",
    "client.initial_access_token_created": "An initial access token for client registration was created.",
    "client.initial_access_token_revoked": "An initial access token for client registration was revoked.",
    "client.registered": "An app registered itself at the registration endpoint (RFC 7591).",
    "client.secret_rotated": "A client's secret was replaced.",
    "client.updated": "A client's settings changed.",
    "consent.granted": "A user consented to a third-party client.",
    "consent.revoked": "A user's consent to a client was withdrawn.",
    "federation.email_check_sent": "An address check was mailed before linking an upstream account.",
    "federation.email_checked": "The owner of an address confirmed the link to an upstream account.",
    "federation.failed": "A login through an upstream provider failed.",
    "federation.linked": "An upstream account was linked to a user.",
    "federation.signed_up": "A user signed up through an upstream provider.",
    "federation.state_mismatch": "An upstream provider's callback came back with the wrong state.",
    "federation.unlinked": "An upstream account was unlinked from a user.",
    "login.failed": "A login failed (wrong password, unknown account, disabled account).",
    "login.federated": "A user logged in through an upstream provider.",
    "login.locked": "Password logins of an account were locked after too many wrong passwords.",
    "login.mfa_ok": "A login passed its second factor.",
    "login.mfa_remembered_device": "A login skipped its second factor on a remembered device.",
    "login.passkey_ok": "A login began with a passkey instead of a password (multi-factor when the user was verified).",
    "login.password_ok": "A login passed its password.",
    "login.succeeded": "A login finished: the user is signed in.",
    "mfa.challenge_sent": "A code was texted for a login's second factor.",
    "mfa.device_added": "A second factor (authenticator app, phone) was added.",
    "mfa.device_remembered": "A user chose to remember this device.",
    "mfa.device_removed": "A second factor was removed.",
    "mfa.enrolment_failed": "A wrong code was given while setting up a second factor.",
    "mfa.factors_reset": "An administrator removed all of a user's second factors.",
    "mfa.failed": "A wrong second-factor code.",
    "mfa.locked": "Second-factor attempts were locked after too many wrong codes.",
    "mfa.passkey_sign_count_regressed": "A passkey answered with a sign count not above the stored one (a cloned "
                                        "key or a replay): refused.",
    "mfa.phone_changed": "A user's phone number for text codes changed.",
    "mfa.phone_removed": "A user's phone number was removed.",
    "mfa.recovery_code_used": "A recovery code was used to log in.",
    "mfa.recovery_codes_generated": "A new set of recovery codes was generated.",
    "mfa.remembered_device_forgotten": "One remembered device was forgotten.",
    "mfa.remembered_devices_forgotten": "All of a user's remembered devices were forgotten.",
    "mfa.sms_failed": "A text message with a code could not be sent.",
    "mfa.succeeded": "A second-factor code was accepted.",
    "mfa.totp_replayed": "An authenticator code that was already used was sent again.",
    "mfa.user_flag_changed": "An administrator turned MFA on or off for a user.",
    "oauth.code_replayed": "An authorization code was used twice; the tokens issued from it were revoked.",
    "oauth.device_approved": "A user approved a device's sign-in (device authorization grant).",
    "oauth.refresh_token_reused": "A rotated-out refresh token was used; its family was revoked.",
    "oauth.token_exchanged": "A client exchanged a user's access token for a delegated one (RFC 8693).",
    "oauth.tokens_revoked": "Tokens were revoked.",
    "organization.created": "An organization was created.",
    "organization.deleted": "An organization was deleted (with its memberships and invitations).",
    "organization.domain_added": "A verified domain was added to an organization.",
    "organization.domain_removed": "A verified domain was removed from an organization.",
    "organization.domain_updated": "Whether a verified domain's users join an organization automatically changed.",
    "organization.invitation_accepted": "An invited user joined an organization.",
    "organization.invitation_revoked": "An invitation to join an organization was withdrawn.",
    "organization.invitation_sent": "A user was invited by mail to join an organization.",
    "organization.member_added": (
        "A user became a member of an organization (by an operator, invitation, verified domain or SCIM)."),
    "organization.member_removed": "A user was removed from an organization.",
    "organization.member_roles_changed": "The roles a member holds in an organization changed.",
    "organization.updated": "An organization's display name or default role changed.",
    "password_reset.requested": "A password reset mail was sent.",
    "password_reset.throttled": "A password reset was refused: too many for that address.",
    "password_reset.unknown_email": "A password reset was asked for an address with no account.",
    "provider.added": "An upstream identity provider was added.",
    "provider.disabled": "An upstream identity provider was disabled.",
    "provider.enabled": "An upstream identity provider was enabled.",
    "provider.mfa_changed": "What an upstream provider's MFA claims may satisfy changed.",
    "provider.removed": "An upstream identity provider was removed.",
    "provider.trust_email_changed": "Whether an upstream provider's verified emails are trusted changed.",
    "provider.updated": "An upstream identity provider's settings changed.",
    "realm.created": "A realm was created.",
    "realm.settings_changed": "A realm's settings changed.",
    "registration.confirmed": "A registration was confirmed by its verification link.",
    "registration.existing_account": "Someone registered with the address of an existing account.",
    "registration.replaced": "A pending registration was replaced by a newer one.",
    "registration.started": "A registration was started; its address is not verified yet.",
    "registration.taken_over": "The proven owner of an address took over a pending registration.",
    "registration.throttled": "A registration was refused: too many for that address.",
    "registration.verified_by_administrator": "An administrator verified a pending registration.",
    "role.assigned": "A realm role was given to a user.",
    "role.created": "A role was created.",
    "role.deleted": "A role was deleted (users and members holding it lose it).",
    "role.unassigned": "A realm role was taken away from a user.",
    "role.updated": "A role's permissions or description changed.",
    "sms_integration.activated": "An SMS integration was activated.",
    "sms_integration.added": "An SMS integration was added.",
    "sms_integration.changed": "An SMS integration's settings changed (the names of the fields, never a value).",
    "sms_integration.deactivated": "An SMS integration was deactivated.",
    "sms_integration.removed": "An SMS integration was removed.",
    "sms_integration.test_sent": "A test text was sent through an SMS integration.",
    "user.created": "A user was created.",
    "user.deleted": "A user was deleted.",
    "user.email_verified": "A user's address was verified.",
    "user.imported": "Users were imported (idp users import): one event per committed batch, with the "
                     "new users' ids.",
    "user.invitation_accepted": "An invited user chose their password and joined.",
    "user.invited": "A user was invited by mail to set their password.",
    "user.locked": "A user was locked (disabled) by an administrator.",
    "user.password_changed": "A user's password was changed.",
    "user.password_reset": "A user reset their password by a mailed link.",
    "user.session_ended": "An administrator ended one of a user's browser sessions.",
    "user.sessions_ended": "An administrator ended all of a user's browser sessions.",
    "user.signed_out_everywhere": "All of a user's sessions and tokens were ended.",
    "user.unlocked": "A user was unlocked.",
    "user.verification_email_sent": "A verification mail was sent.",
    "webhook.created": "A webhook was added.",
    "webhook.deleted": "A webhook was removed.",
    "webhook.redelivered": "An operator sent a webhook message again.",
    "webhook.test": "A test event an operator sent to one webhook (never recorded in the audit log).",
    "webhook.test_sent": "An operator sent a test event to a webhook.",
    "webhook.updated": "A webhook's address, event types or state changed.",
}


def record_event(event_type: str, *, realm=None, user=None, user_id=None, **details) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits with its own work) and
    tell the subscribers (``event_recorded``). Details that are None are left out."""
    event = AuditEvent(
        realm_id=realm.id if realm is not None else None,
        user_id=user.id if user is not None else user_id,
        event_type=event_type,
        details={k: v for k, v in details.items() if v is not None},
        created_at=utcnow(),
    )
    if has_request_context():
        event.ip_address = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:400]
    elif has_app_context() and g.get("express_request") is not None:  # answered before Flask (``idp.oidc.express``)
        event.ip_address = g.express_request.remote_addr
        event.user_agent = g.express_request.user_agent[:400]
    db.session.add(event)
    event_recorded.send(event, realm=realm, user=user)
    return event
