"""Which local user a federated login belongs to.

1. A known link (provider, upstream subject) decides.
2. Otherwise an account with the same email is linked only when the upstream asserts
   ``email_verified`` and the local email is verified too; else the person must log in with
   the account's password once (in the same login) to link.
3. Otherwise a new user is created, when the realm allows registration."""
from __future__ import annotations

from ..extensions import db
from ..i18n import _
from ..models import utcnow
from ..models.social import FederatedIdentity
from ..services import ServiceError
from ..services.audit import record_event
from ..services.users import create_user, find_user_by_email


class PasswordNeededToLink(Exception):
    """A local account has this email but the link cannot be trusted without its password."""

    def __init__(self, email: str):
        super().__init__(email)
        self.email = email


def find_link(provider, subject: str) -> FederatedIdentity | None:
    return db.session.scalar(db.select(FederatedIdentity).filter_by(provider_id=provider.id, subject=subject))


def link_identity(provider, user, identity: dict) -> FederatedIdentity:
    row = FederatedIdentity(provider_id=provider.id, user_id=user.id, subject=identity["sub"],
                            email=identity.get("email"), last_login_at=utcnow())
    db.session.add(row)
    record_event("federation.linked", realm=user.realm, user=user, provider=provider.name)
    return row


def user_for_identity(realm, provider, identity: dict):
    link = find_link(provider, identity["sub"])
    if link is not None:
        link.last_login_at = utcnow()
        return link.user
    email = identity.get("email")
    local = find_user_by_email(realm, email) if email else None
    if local is not None:
        if identity.get("email_verified") and local.email_verified:
            link_identity(provider, local, identity)
            return local
        raise PasswordNeededToLink(local.email)
    if not realm.registration_enabled:
        raise ServiceError(_("There is no account for you here, and new accounts cannot be created."))
    if not email:
        raise ServiceError(_("%(provider)s did not share an email address, which an account needs.", provider=provider.display_name))
    user = create_user(realm, email=email, password=None, name=identity.get("name"),
                       email_verified=bool(identity.get("email_verified")))
    link_identity(provider, user, identity)
    return user


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
    record_event("federation.unlinked", realm=user.realm, user=user, provider=identity.provider.name)
    db.session.delete(identity)
