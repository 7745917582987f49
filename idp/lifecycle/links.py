"""Single-use links sent by mail. The URL carries a random token (256 bits); the database keeps
only its keyed digest (``security.keyed_digest``), the purpose, the user, the address it was
sent to, the login that asked for it and its expiry. A link works for its own purpose, realm
and user only, and once: ``claim_link`` is an ``UPDATE ... WHERE used_at IS NULL``."""
from __future__ import annotations

import datetime as dt
import math

from flask import current_app, request, url_for

from ..extensions import db
from ..i18n import _
from ..models import EmailLink, utcnow
from ..security import keyed_digest, random_token
from ..services.users import email_key

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
INVITATION = "invitation"
LIFETIMES = {
    VERIFY_EMAIL: dt.timedelta(hours=24),
    RESET_PASSWORD: dt.timedelta(minutes=30),
    INVITATION: dt.timedelta(hours=72),
}
MAX_TOKEN_LENGTH = 128


class LinkInvalid(Exception):
    """The link is unknown, for something else, expired or already used; the message is for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def new_link_token() -> str:
    return random_token(32)


def issue_link(user, purpose: str, *, transaction_id: str | None = None, token: str | None = None) -> str:
    """Store a new link for ``user`` and return its token (put it in the URL, nowhere else)."""
    token = token or new_link_token()
    now = utcnow()
    db.session.add(EmailLink(
        realm_id=user.realm_id,
        user_id=user.id,
        purpose=purpose,
        token_digest=keyed_digest(token),
        email=user.email,
        transaction_id=transaction_id,
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    ))
    return token


def find_link(realm, token: str, purpose: str) -> EmailLink:
    """The link ``token`` names, if it may still be used for ``purpose`` in ``realm``."""
    row = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        row = db.session.scalar(db.select(EmailLink).filter_by(token_digest=keyed_digest(token)))
    if row is None or row.realm_id != realm.id or row.purpose != purpose:
        raise LinkInvalid(_("This link is not valid. Check that you copied the whole link from the email."))
    if row.used_at is not None:
        raise LinkInvalid(_("This link was already used. Each link works only once."))
    if row.expires_at <= utcnow():
        raise LinkInvalid(_("This link has expired. Ask for a new one."))
    user = row.user
    if user is None or user.disabled or email_key(user.email) != email_key(row.email):
        raise LinkInvalid(_("This link is no longer valid for this account. Ask for a new one."))
    return row


def claim_link(row: EmailLink) -> bool:
    """Mark the link used; False when another request already did (or it expired meanwhile)."""
    now = utcnow()
    claimed = db.session.execute(
        db.update(EmailLink)
        .where(EmailLink.id == row.id, EmailLink.used_at.is_(None), EmailLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed == 1:
        row.used_at = now
    return claimed == 1


def retire_links(user, purpose: str) -> None:
    """Unused links of ``user`` for ``purpose`` stop working (a newer one replaces them)."""
    db.session.execute(
        db.update(EmailLink)
        .where(EmailLink.user_id == user.id, EmailLink.purpose == purpose, EmailLink.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def latest_link(user, purpose: str) -> EmailLink | None:
    return db.session.scalar(
        db.select(EmailLink).filter_by(user_id=user.id, purpose=purpose)
        .order_by(EmailLink.created_at.desc(), EmailLink.id.desc()).limit(1)
    )


def seconds_until_next_link(user, purpose: str, cooldown: int) -> int:
    """The cool-down between two links of one purpose, from the last one sent."""
    last = latest_link(user, purpose)
    if last is None:
        return 0
    left = cooldown - (utcnow() - last.created_at).total_seconds()
    return max(0, math.ceil(left))


def absolute_url(endpoint: str, **values) -> str:
    """A URL for a mail: on ``[server] public_url`` when it is set, else on this request's host,
    which is then a loopback name (the only hosts served without a public URL: ``public_address``)."""
    public_url = current_app.extensions["idp.settings"].server.public_url
    path = url_for(endpoint, **values)
    if not public_url:
        return request.host_url.rstrip("/") + path
    root = request.script_root if request else ""
    if root and path.startswith(root):
        path = path[len(root):]
    return public_url.rstrip("/") + path


def mask_email(email: str) -> str:
    """"a•••@example.com": enough for the user to recognise it on a page others may see."""
    local, _, domain = (email or "").rpartition("@")
    if not local:
        return email
    return f"{local[0]}•••@{domain}"
