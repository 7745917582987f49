"""Email verification: a link mailed after registration (and again on request, after a
cool-down) sets ``email_verified``; nothing else does, so the ``email_verified`` claim stays
honest. A realm with ``require_email_verification`` adds ``EmailVerificationStage`` to every
login: no token is issued to an unverified address.

The link opens a page with a "Verify email address" button rather than verifying on the GET:
mail scanners that fetch every link in a message would otherwise use it up."""
from __future__ import annotations

from flask import url_for

from ..extensions import db
from ..i18n import _
from ..login.stages import Prompt
from ..mail import compose, deliver_after_commit
from ..models import EmailLink, utcnow
from ..services.audit import record_event
from .links import (
    LIFETIMES,
    VERIFY_EMAIL,
    LinkInvalid,
    absolute_url,
    claim_link,
    issue_link,
    seconds_until_next_link,
)
from .signals import address_proven

#: Seconds between two verification mails for one account ("Resend verification email").
RESEND_COOLDOWN = 60


def verification_url(realm, token: str, transaction_id: str | None) -> str:
    if transaction_id:
        return absolute_url("lifecycle.verify_email_in_login", realm_name=realm.name, txn_id=transaction_id,
                            token=token)
    return absolute_url("lifecycle.verify_email", realm_name=realm.name, token=token)


def send_verification_email(user, *, transaction_id: str | None = None) -> None:
    """Issue a link and mail it once the caller's transaction commits."""
    token = issue_link(user, VERIFY_EMAIL, transaction_id=transaction_id)
    realm = user.realm
    message = compose(realm, "verify_email", to=user.email, user=user,
                      link_url=verification_url(realm, token, transaction_id),
                      lifetime_hours=int(LIFETIMES[VERIFY_EMAIL].total_seconds() // 3600))
    deliver_after_commit(message)
    record_event("user.verification_email_sent", realm=realm, user=user)


def resend_wait_seconds(user) -> int:
    return seconds_until_next_link(user, VERIFY_EMAIL, RESEND_COOLDOWN)


def has_pending_verification(user) -> bool:
    """A verification link for the current address that can still be used."""
    return db.session.scalar(
        db.select(EmailLink.id).filter_by(user_id=user.id, purpose=VERIFY_EMAIL, email=user.email)
        .filter(EmailLink.used_at.is_(None), EmailLink.expires_at > utcnow()).limit(1)
    ) is not None


def verify_email_address(link: EmailLink):
    """Use the link: its user's address is verified. The caller commits."""
    if not claim_link(link):
        raise LinkInvalid(_("This link was already used. Each link works only once."))
    user = link.user
    user.email_verified = True
    record_event("user.email_verified", realm=user.realm, user=user)
    address_proven.send(user, reason="email_verified")
    return user


def needs_verification(txn) -> bool:
    return bool(txn.realm.require_email_verification and txn.user is not None and not txn.user.email_verified)


class EmailVerificationStage:
    """After the second factor, before consent: "Check your inbox" until the address is verified."""

    key = "verify_email"

    def check(self, txn):
        return Prompt("email_not_verified") if needs_verification(txn) else None

    def url(self, txn):
        return url_for("lifecycle.verify_email_stage", realm_name=txn.realm.name, txn_id=txn.id)
