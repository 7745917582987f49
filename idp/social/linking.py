"""Which local account a federated login belongs to, and when an upstream identity may be
linked to one.

1. A known link (provider, upstream subject) decides.
2. An address is trusted to create or link an account only when the upstream asserts
   ``email_verified`` *and* the operator trusts this provider's assertion (``trust_email``,
   Keycloak's "Trust Email"); otherwise the person first opens a link we mail to it
   (``idp.social.email_check``).
3. A local account with the same (proven) address is linked without its password only when
   its own address is verified too and it has no second factor. Otherwise the person logs in
   to that account once, in the same login, with its password and, when it has MFA, its
   second factor (``PasswordNeededToLink``). A registration still waiting for its address to
   be verified is not an account yet: the proven owner takes it over (without the password
   whoever registered chose).
4. Otherwise a new account is created, when the realm allows registration.

A link to an existing account is made only when the whole login succeeds
(``idp.login.completion``): a login abandoned at the MFA step links nothing. Each link records
whether its address was proven (``FederatedIdentity.email_verified``); a password reset or an
email verification of the account removes the links whose address was not
(``remove_unproven_links``)."""
from __future__ import annotations

from dataclasses import dataclass

from ..extensions import db
from ..i18n import _
from ..login.completion import defer_until_login_succeeds
from ..login.transaction import update_stage_state
from ..models import utcnow
from ..models.social import FederatedIdentity
from ..services import ServiceError
from ..services.audit import record_event
from ..services.users import create_user, find_user_by_email

#: The changes a federated login defers until it succeeds (``idp.login.completion``).
LINK_IDENTITY = "link_identity"
LINK_USED = "link_used"


class PasswordNeededToLink(Exception):
    """A local account has this email but the link cannot be trusted without logging in to it
    (its password, and its second factor when it has one)."""

    def __init__(self, user):
        super().__init__(user.email)
        self.user = user
        self.email = user.email


class EmailCheckNeeded(Exception):
    """The upstream did not assert that the address is verified: prove it by mail first."""


@dataclass(frozen=True)
class Resolution:
    """The account a federated login continues as, and the link to make once it succeeds
    (None when the link exists already or was made with a new account)."""

    user: object
    link_on_success: dict | None = None


def find_link(provider, subject: str) -> FederatedIdentity | None:
    return db.session.scalar(db.select(FederatedIdentity).filter_by(provider_id=provider.id, subject=subject))


def has_second_factor(user) -> bool:
    """Whether linking to ``user`` must pass a second factor: the user's MFA flag is on, or they
    hold a factor the realm can challenge."""
    from ..mfa.flows import usable_factors

    return bool(user.mfa_enabled) or bool(usable_factors(user.realm, user))


def address_proven(provider, identity: dict) -> bool:
    """The address is proven: we mailed it a link that was opened (``email_proven``), or the
    upstream says it verified it and this provider's word is trusted for that."""
    return bool(identity.get("email_proven")) or (bool(identity.get("email_verified")) and provider.trust_email)


def link_identity(provider, user, identity: dict, *, new_account: bool = False) -> FederatedIdentity:
    """Link; the owner of an existing account is told by mail (``federation.linked``)."""
    row = FederatedIdentity(provider_id=provider.id, user_id=user.id, subject=identity["sub"],
                            email=identity.get("email"), email_verified=address_proven(provider, identity),
                            last_login_at=utcnow())
    db.session.add(row)
    record_event("federation.signed_up" if new_account else "federation.linked", realm=user.realm, user=user,
                 provider=provider.name, provider_name=provider.display_name)
    return row


def link_request(provider, identity: dict) -> dict:
    """What ``defer_until_login_succeeds`` keeps to make the link later (JSON)."""
    return {"provider": provider.name, "sub": identity["sub"], "email": identity.get("email"),
            "email_verified": address_proven(provider, identity)}


def resolve_account(realm, provider, identity: dict) -> Resolution:
    """Apply the rules of the module docstring. Raises ``EmailCheckNeeded``,
    ``PasswordNeededToLink`` or ``ServiceError`` (no account can be made)."""
    link = find_link(provider, identity["sub"])
    if link is not None:
        return Resolution(link.user)
    email = identity.get("email")
    if not email:
        if not realm.registration_enabled:
            raise ServiceError(_("There is no account for you here, and new accounts cannot be created."))
        raise ServiceError(_("%(provider)s did not share an email address, which an account needs.",
                             provider=provider.display_name))
    if not address_proven(provider, identity):
        raise EmailCheckNeeded()
    local = find_user_by_email(realm, email)
    if local is not None and local.registration_pending:
        from ..lifecycle.registration import take_over_pending_registration

        take_over_pending_registration(local, email)
        link_identity(provider, local, identity, new_account=True)
        return Resolution(local)
    if local is not None:
        if local.email_verified and not has_second_factor(local):
            return Resolution(local, link_request(provider, identity))
        raise PasswordNeededToLink(local)
    if not realm.registration_enabled:
        raise ServiceError(_("There is no account for you here, and new accounts cannot be created."))
    user = create_user(realm, email=email, password=None, name=identity.get("name"), email_verified=True)
    link_identity(provider, user, identity, new_account=True)
    return Resolution(user)


def ask_password_to_link(txn, provider, identity: dict, user) -> None:
    """Keep the link request in the login until the account's owner logs in to it."""
    update_stage_state(txn, pending_link={**link_request(provider, identity), "user_id": user.id})


def link_after_password(txn, user) -> None:
    """The password stage accepted ``user``: a link waiting for this account's owner is made
    once the whole login succeeds, and this login must then pass the account's second factor
    (``mfa_required_for``) -- a password alone never links an account that has MFA. A login to
    another account drops the request."""
    pending = (txn.stage_state or {}).get("pending_link")
    if not pending:
        return
    if pending.get("user_id") != user.id:
        update_stage_state(txn, pending_link=None)
        return
    request = {key: value for key, value in pending.items() if key != "user_id"}
    defer_until_login_succeeds(txn, LINK_IDENTITY, **request)
    update_stage_state(txn, pending_link=None, login_message=None)
    if has_second_factor(user):
        update_stage_state(txn, require_fresh_mfa=True)


def make_deferred_link(txn, *, provider: str, sub: str, email: str | None, email_verified: bool) -> None:
    """The deferred change ``link_identity``: the login succeeded, so link (unless an identical
    link appeared meanwhile, or the upstream account was linked to someone else)."""
    from .providers import find_provider

    row = find_provider(txn.realm, provider)
    if row is None or txn.user is None:
        return
    existing = find_link(row, sub)
    if existing is None:
        link_identity(row, txn.user, {"sub": sub, "email": email, "email_proven": email_verified})
    elif existing.user_id == txn.user.id:
        existing.last_login_at = utcnow()


def note_link_used(txn, *, provider: str, sub: str) -> None:
    """The deferred change ``link_used``: when the link last logged someone in."""
    from .providers import find_provider

    row = find_provider(txn.realm, provider)
    link = find_link(row, sub) if row is not None else None
    if link is not None and txn.user is not None and link.user_id == txn.user.id:
        link.last_login_at = utcnow()


def identities_of(user) -> list[FederatedIdentity]:
    return list(db.session.scalars(db.select(FederatedIdentity).filter_by(user_id=user.id)
                                   .order_by(FederatedIdentity.id)))


def unlink_identity(user, identity: FederatedIdentity) -> None:
    """Refused when it is the user's last way to log in (no password, no other link)."""
    if identity.user_id != user.id:
        raise ServiceError(_("That login method does not belong to this account."))
    others = [i for i in identities_of(user) if i.id != identity.id]
    if not user.password_hash and not others:
        raise ServiceError(_("This is the only way you can log in. Set a password or link another account first."))
    record_event("federation.unlinked", realm=user.realm, user=user, provider=identity.provider.name,
                 provider_name=identity.provider.display_name)
    db.session.delete(identity)


def remove_unproven_links(user, *, reason: str) -> int:
    """A password reset or an email verification proves who holds the address: links made
    without a proven address (or before that was recorded) end, and the owner is told by mail
    (the ``federation.unlinked`` notice). Returns how many were removed."""
    removed = 0
    for identity in identities_of(user):
        if identity.email_verified:
            continue
        record_event("federation.unlinked", realm=user.realm, user=user, provider=identity.provider.name,
                     provider_name=identity.provider.display_name, reason=reason)
        db.session.delete(identity)
        removed += 1
    return removed
