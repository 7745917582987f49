"""Remembered consents: what each user allowed each third-party client, so that the consent
page asks only for what was not allowed yet."""
from __future__ import annotations

from collections.abc import Iterable

from ..extensions import db
from ..models import AuthorizationCode, Client, Consent, IssuedToken, utcnow
from .audit import record_event
from .sign_out import revoke_tokens_where


def _find(user, client_id: str) -> Consent | None:
    return db.session.scalar(db.select(Consent).filter_by(user_id=user.id, client_id=client_id))


def has_consent(user, client, scopes: Iterable[str]) -> bool:
    """True when ``user`` already allowed ``client`` every one of ``scopes``."""
    consent = _find(user, client.client_id)
    return consent is not None and set(scopes) <= set(consent.scopes or [])


def record_consent(user, client, scopes: Iterable[str]) -> Consent:
    """Remember that ``user`` allowed ``client`` these scopes, on top of what it allowed before.
    The row is created with ``INSERT ... ON CONFLICT DO NOTHING`` and then locked, so two tabs
    allowing at once widen one row. The caller commits."""
    wanted = set(scopes)
    now = utcnow()
    created = db.session.execute(
        _insert(Consent).values(realm_id=user.realm_id, user_id=user.id, client_id=client.client_id,
                                scopes=[], granted_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Consent.user_id, Consent.client_id])
    ).rowcount == 1
    consent = db.session.scalar(
        db.select(Consent).filter_by(user_id=user.id, client_id=client.client_id)
        .with_for_update().execution_options(populate_existing=True))
    granted = set(consent.scopes or [])
    if created or not wanted <= granted:
        consent.scopes = sorted(granted | wanted)
        consent.updated_at = now
        record_event("consent.granted", realm=client.realm, user=user, client_id=client.client_id,
                     scopes=consent.scopes)
    return consent


def _insert(model):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def list_consents(user) -> list[tuple[Consent, Client]]:
    """The clients ``user`` allowed, with their consents, by client name."""
    rows = db.session.execute(
        db.select(Consent, Client)
        .join(Client, (Client.realm_id == Consent.realm_id) & (Client.client_id == Consent.client_id))
        .where(Consent.user_id == user.id)
        .order_by(Client.name, Client.client_id)
    ).all()
    return [(consent, client) for consent, client in rows]


def revoke_consent(user, client_id: str) -> bool:
    """Forget what ``user`` allowed ``client_id`` and end the client's access: its tokens for the
    user are revoked and its unredeemed codes expire, so the next login asks again. Returns
    False when there was nothing to take back. The caller commits."""
    now = utcnow()
    deleted = db.session.execute(
        db.delete(Consent).where(Consent.user_id == user.id, Consent.client_id == client_id)
    ).rowcount
    revoked = revoke_tokens_where(IssuedToken.realm_id == user.realm_id, IssuedToken.user_id == user.id,
                                  IssuedToken.client_id == client_id)
    db.session.execute(
        db.update(AuthorizationCode)
        .where(AuthorizationCode.realm_id == user.realm_id, AuthorizationCode.user_id == user.id,
               AuthorizationCode.client_id == client_id, AuthorizationCode.used_at.is_(None),
               AuthorizationCode.expires_at > now)
        .values(expires_at=now)
    )
    if not deleted and not revoked:
        return False
    record_event("consent.revoked", realm=user.realm, user=user, client_id=client_id, tokens_revoked=revoked)
    return True
