"""Password reset: "Forgot password?" -> an email -> a single-use link valid 30 minutes -> a new
password under the registration policy -> every session, refresh token and remembered device of
the account ends.

No account enumeration, by page or by timing: ``request_password_reset`` does the same work
whatever the address. In the request it only draws a token, builds the link and hands both to
a background thread; finding the account, storing the token's digest, composing and sending
the mail all happen there, off the response. The page the user sees is the same either way.
Unknown addresses are recorded in the audit log (``password_reset.unknown_email``).

A reset never bypasses the second factor: the link sets the password, and a login that asked
for it continues from its password stage, so its MFA stage still runs (``views``)."""
from __future__ import annotations

from flask import request
from flask_babel import force_locale

from ..extensions import db
from ..i18n import DEFAULT_LOCALE, _, current_locale
from ..mail import compose, deliver_now, run_in_background
from ..models import Realm
from ..services.audit import record_event
from ..services.password_attempts import unlock_address
from ..services.passwords import check_password_policy
from ..services.sign_out import change_password
from ..services.users import find_user_by_email
from .devices import describe_browser
from .signals import address_proven
from .links import (
    LIFETIMES,
    RESET_PASSWORD,
    LinkInvalid,
    absolute_url,
    claim_link,
    issue_link,
    new_link_token,
    retire_links,
    seconds_until_next_link,
)

#: At most one reset mail per account per this many seconds (a mail-bombing guard).
RESET_MAIL_COOLDOWN = 60


def reset_url(realm, token: str, transaction_id: str | None) -> str:
    if transaction_id:
        return absolute_url("lifecycle.reset_password_in_login", realm_name=realm.name, txn_id=transaction_id,
                            token=token)
    return absolute_url("lifecycle.reset_password", realm_name=realm.name, token=token)


def request_password_reset(realm, email: str, *, transaction_id: str | None = None) -> None:
    """Start a reset for ``email`` without revealing whether it has an account (see the module
    docstring): the same constant work here, the rest in the background."""
    token = new_link_token()
    run_in_background(
        send_reset_link, realm.id, (email or "")[:320], token, reset_url(realm, token, transaction_id),
        transaction_id=transaction_id, ip_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:400], locale=current_locale(),
    )


def send_reset_link(realm_id: int, email: str, token: str, link_url: str, *, transaction_id: str | None,
                    ip_address: str | None, user_agent: str | None, locale: str = DEFAULT_LOCALE) -> None:
    """The background half: store the link and mail it, if the address has an account, in the
    language of the page that asked for it."""
    realm = db.session.get(Realm, realm_id)
    user = find_user_by_email(realm, email) if realm is not None else None
    if user is None or user.disabled:
        record_event("password_reset.unknown_email", realm=realm, email=email, ip=ip_address,
                     reason="disabled" if user is not None else None)
        db.session.commit()
        return
    if not _may_mail_reset_link(user):
        record_event("password_reset.throttled", realm=realm, user=user, ip=ip_address)
        db.session.commit()
        return
    retire_links(user, RESET_PASSWORD)
    issue_link(user, RESET_PASSWORD, transaction_id=transaction_id, token=token)
    record_event("password_reset.requested", realm=realm, user=user, ip=ip_address)
    with force_locale(locale):
        message = compose(realm, "reset_password", to=user.email, user=user, link_url=link_url,
                          lifetime_minutes=int(LIFETIMES[RESET_PASSWORD].total_seconds() // 60),
                          ip_address=ip_address, browser=describe_browser(user_agent) if user_agent else None)
    db.session.commit()
    deliver_now(message)


def _may_mail_reset_link(user) -> bool:
    """One reset mail per account per cool-down, counted atomically in the rate-limit storage
    (the database or Redis) so that two workers asked at the same moment send one mail, and a
    few a day (``ratelimit.may_mail``)."""
    from ..ratelimit import may_mail

    if seconds_until_next_link(user, RESET_PASSWORD, RESET_MAIL_COOLDOWN):
        return False
    return may_mail("idp-reset-mail", user.id, cooldown=RESET_MAIL_COOLDOWN)


def reset_password(link, password: str):
    """Set the new password through the link; the caller commits. Raises ``ServiceError`` (the
    password breaks the policy: the link stays usable) or ``LinkInvalid`` (used meanwhile)."""
    user = link.user
    check_password_policy(user.realm, password, email=user.email)
    # The owner proved the mailbox: wrong passwords someone else typed no longer lock them out.
    # (Before this request writes anything: on SQLite the rate-limit storage's own connection
    # would otherwise wait for this one's write lock.)
    unlock_address(user.realm, user.email)
    if not claim_link(link):
        raise LinkInvalid(_("This link was already used. Each link works only once."))
    change_password(user, password, reason="password_reset")
    # the mail reached the address: it is verified too, and a pending registration is now the
    # owner's, with the owner's password (idp.lifecycle.registration)
    user.email_verified = True
    user.registration_pending_since = None
    retire_links(user, RESET_PASSWORD)
    address_proven.send(user, reason="password_reset")
    record_event("user.password_reset", realm=user.realm, user=user)
    return user
