"""Registration on the hosted page, without account enumeration (OWASP WSTG-IDNT-04).

The page, its status and its timing are the same whether or not the address has an account. The
request checks only what does not depend on an account (the address's syntax, the realm's
password policy), hashes the password (argon2, the slow part, either way), draws the link tokens
and hands the rest to a background thread, as ``reset.request_password_reset`` does; then it
always answers "Check your inbox". In the background:

- **a new address** gets an account that is *pending* (``User.registration_pending``) and a
  verification link bound to the login that asked for it;
- **an address with an account**: its owner is mailed that someone tried to register with it,
  with a link to log in and a link to choose a new password. Nothing else changes, also when
  that account is not verified yet (an account an administrator created, or one registered
  before registrations were pending): its owner can log in, or reset, which verifies it;
- **an address with a pending registration** (the person lost the first mail, or someone else
  registered the address first): the newer registration replaces it (its password and name,
  a new link; the earlier links stop working). Nobody could log in to it, so nothing is lost;
- at most one mail per address per ``REGISTRATION_MAIL_COOLDOWN``; a registration inside the
  cool-down changes nothing (a mail-bombing guard, and one registration at a time per address).

Why pending: the password was typed by whoever registered, who is not necessarily the owner of
the address. Until the address is verified the account cannot log in (the answer is that of a
wrong password, so registering and then logging in does not reveal which addresses existed
either), and the owner of the address decides:

- the link opened in the browser that registered, while its login is open, verifies the address
  and continues that login (``views.verify_email``), into the second-factor step the realm asks
  of new registrations. Another browser cannot continue it: the login is bound to its browser;
- the link opened anywhere else asks for the password chosen at registration, so an owner who did
  not register cannot, by clicking, confirm a password someone else knows;
- a password reset sets the owner's own password and verifies the address (``reset``).

Registrations never verified are deleted after a week by
``services.users.delete_abandoned_registrations`` (each new registration clears a few, and the
periodic purge the rest): an anonymous visitor made them."""
from __future__ import annotations

from flask import request
from flask_babel import force_locale

from ..extensions import db
from ..i18n import DEFAULT_LOCALE, _, current_locale
from ..mail import compose, deliver_now, run_in_background
from ..models import Realm, User, utcnow
from ..security import hash_password, keyed_digest, verify_password
from ..services import ServiceError
from ..services.audit import record_event
from ..services.mfa_policy import mfa_applies_to_form
from ..services.password_attempts import address_key, claim_password_attempt
from ..services.passwords import check_password_policy
from ..services.users import create_user, delete_abandoned_registrations, find_user_by_email, normalize_email
from .devices import describe_browser
from .links import (
    LIFETIMES,
    RESET_PASSWORD,
    VERIFY_EMAIL,
    absolute_url,
    issue_link,
    new_link_token,
    retire_links,
)
from .reset import reset_url
from .verification import verification_url, verify_email_address

#: At most one registration mail (a verification link or an owner's notice) per address per
#: this many seconds.
REGISTRATION_MAIL_COOLDOWN = 60
#: How many abandoned registrations each new registration deletes, at most.
ABANDONED_PER_REGISTRATION = 20
MAX_NAME_LENGTH = 200


def register(realm, *, email: str, password: str, name: str | None, transaction_id: str) -> str:
    """Start a registration without revealing whether ``email`` has an account (see the module
    docstring). Raises ``ServiceError`` for what is wrong whatever the answer (the address's
    syntax, the password policy, the name's length); returns the address as it will be stored."""
    email = normalize_email(email)
    check_password_policy(realm, password, email=email)
    name = (name or "").strip() or None
    if name and len(name) > MAX_NAME_LENGTH:
        raise ServiceError(_("Name must be at most 200 characters."), field="name")
    password_hash = hash_password(password)
    verify_token, reset_token = new_link_token(), new_link_token()
    run_in_background(
        complete_registration, realm.id, email, password_hash, name,
        verify_token=verify_token, verify_link_url=verification_url(realm, verify_token, transaction_id),
        # not bound to this login: the owner's reset must never continue a stranger's login
        reset_token=reset_token, reset_link_url=reset_url(realm, reset_token, None),
        login_url=absolute_url("account.home", realm_name=realm.name),
        transaction_id=transaction_id, ip_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:400], locale=current_locale(),
    )
    return email


def complete_registration(realm_id: int, email: str, password_hash: str, name: str | None, *,
                          verify_token: str, verify_link_url: str, reset_token: str, reset_link_url: str,
                          login_url: str,
                          transaction_id: str, ip_address: str | None, user_agent: str | None,
                          locale: str = DEFAULT_LOCALE) -> None:
    """The background half: a pending account and its link, or a notice to the owner."""
    realm = db.session.get(Realm, realm_id)
    if realm is None:
        return
    # registrations are what makes pending accounts, so they also clear the abandoned ones
    if delete_abandoned_registrations(limit=ABANDONED_PER_REGISTRATION):
        db.session.commit()
    if not _may_mail(realm, email):
        record_event("registration.throttled", realm=realm, email=email, ip=ip_address)
        db.session.commit()
        return
    user = find_user_by_email(realm, email)
    if user is not None and not user.registration_pending:
        _tell_the_owner(user, reset_token=reset_token, reset_link_url=reset_link_url, login_url=login_url,
                        ip_address=ip_address, user_agent=user_agent, locale=locale)
        return
    if user is None:
        user = create_user(realm, email=email, password=None, name=name)
        record_event("registration.started", realm=realm, user=user, ip=ip_address)
    else:
        retire_links(user, VERIFY_EMAIL)
        user.email = email  # the spelling this registrant typed is the one the new link goes to
        user.name = name
        record_event("registration.replaced", realm=realm, user=user, ip=ip_address)
    user.password_hash = password_hash
    user.registration_pending_since = utcnow()
    if mfa_applies_to_form(realm, "registration"):
        # the registration form requires a second factor: one left unfinished after the link is
        # still asked for at the next login
        user.mfa_enabled = True
    issue_link(user, VERIFY_EMAIL, transaction_id=transaction_id, token=verify_token)
    record_event("user.verification_email_sent", realm=realm, user=user)
    with force_locale(locale):
        message = compose(realm, "verify_email", to=user.email, user=user, link_url=verify_link_url,
                          lifetime_hours=int(LIFETIMES[VERIFY_EMAIL].total_seconds() // 3600))
    db.session.commit()
    deliver_now(message)


def _tell_the_owner(user, *, reset_token: str, reset_link_url: str, login_url: str, ip_address: str | None,
                    user_agent: str | None, locale: str) -> None:
    """Someone tried to register the address of an existing account: tell its owner, with a
    way in (log in, or a reset link). Nothing about the account changes."""
    realm = user.realm
    if user.disabled:
        record_event("registration.existing_account", realm=realm, user=user, ip=ip_address, reason="disabled")
        db.session.commit()
        return
    issue_link(user, RESET_PASSWORD, token=reset_token)
    record_event("registration.existing_account", realm=realm, user=user, ip=ip_address)
    with force_locale(locale):
        message = compose(realm, "registration_attempt", to=user.email, user=user, login_url=login_url,
                          reset_url=reset_link_url,
                          reset_minutes=int(LIFETIMES[RESET_PASSWORD].total_seconds() // 60),
                          ip_address=ip_address, browser=describe_browser(user_agent) if user_agent else None)
    db.session.commit()
    deliver_now(message)


def _may_mail(realm, email: str) -> bool:
    """One registration mail per address per cool-down (and a few a day), claimed atomically in
    the rate-limit storage, so two registrations of one address at the same moment do one thing."""
    from ..ratelimit import may_mail

    return may_mail("idp-registration-mail", keyed_digest(f"registration:{realm.id}:{address_key(email)}"),
                    cooldown=REGISTRATION_MAIL_COOLDOWN)


def confirm_registration(link) -> User:
    """The link of a pending registration was used: the address is verified and the account
    may log in with the password chosen at registration. The caller commits."""
    user = verify_email_address(link)
    user.registration_pending_since = None
    record_event("registration.confirmed", realm=user.realm, user=user)
    return user


def confirm_registration_with_password(link, password: str) -> User:
    """The link opened away from the browser that registered: whoever opened it must also know
    the password chosen at registration. Counted like a login (``password_attempts``: raises
    ``PasswordLoginLocked``); a wrong password raises ``ServiceError`` and changes nothing."""
    user = link.user
    attempt = claim_password_attempt(user.realm, user.email)
    if not verify_password(user.password_hash, password or ""):
        attempt.failed()
        raise ServiceError(_("That is not the password chosen when this account was created."), field="password")
    attempt.succeeded()
    return confirm_registration(link)


def take_over_pending_registration(user, proven_email: str) -> None:
    """The owner of the address proved it some other way (an upstream login whose address was
    proven): the pending registration becomes theirs. Nobody could log in to it yet, and its
    password was chosen by whoever registered, who may not be the owner, so the password goes;
    the address is verified, in the spelling that was proven, and the registration's links stop
    working. The caller commits."""
    from .links import retire_links

    retire_links(user, VERIFY_EMAIL)
    user.email = normalize_email(proven_email)
    user.password_hash = None
    user.email_verified = True
    user.registration_pending_since = None
    record_event("registration.taken_over", realm=user.realm, user=user)
