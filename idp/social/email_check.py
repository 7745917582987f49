"""Proving an address that an upstream provider did not assert as verified.

Anyone can open an account at some upstream provider under someone else's address. Before such
an identity creates or links an account here, the person opens a link we mail to the address;
the link works only in the browser of the login that asked for it (it lives under the login's
own URL, where its binding cookie is sent) and only until the login expires. Nothing is stored
beyond the login transaction: the token's keyed digest and the upstream identity sit in its
stage state and go with it. Mails are capped per login (``MAX_SENDS``, with a cool-down) and per
address (one per ``COOLDOWN_SECONDS`` and a few a day, ``ratelimit.may_mail``), so an
upstream account cannot be used to flood someone's inbox."""
from __future__ import annotations

import time

from ..extensions import db
from ..login.transaction import update_stage_state
from ..mail import compose, deliver_after_commit
from ..security import digests_equal, keyed_digest, random_token
from ..services.audit import record_event
from ..services.users import email_key

STATE_KEY = "email_check"
COOLDOWN_SECONDS = 60
MAX_SENDS = 5


def _digest(token: str) -> str:
    return keyed_digest(f"federated-email:{token}")


def pending_check(txn) -> dict | None:
    return (txn.stage_state or {}).get(STATE_KEY)


def seconds_until_resend(txn) -> int:
    check = pending_check(txn) or {}
    return max(0, int(check.get("sent_at", 0) + COOLDOWN_SECONDS - time.time() + 0.999))


def may_send_again(txn) -> bool:
    check = pending_check(txn) or {}
    return check.get("sends", 0) < MAX_SENDS and not seconds_until_resend(txn)


def begin(txn, provider, identity: dict) -> None:
    """Keep the identity in the login and mail a link to its address."""
    update_stage_state(txn, social=None, login_message=None,
                       **{STATE_KEY: {"provider": provider.name, "provider_name": provider.display_name,
                                      "identity": identity, "sends": 0, "sent_at": 0}})
    send(txn)


def send(txn) -> bool:
    """Mail a fresh link (an earlier one stops working). False when a cap held it back.

    Commits first: the per-address counter may live in this same (SQLite) database, on the
    rate-limit storage's own connection, which must not wait for this session's write lock."""
    from ..lifecycle.links import absolute_url
    from ..ratelimit import may_mail

    check = dict(pending_check(txn))
    if not may_send_again(txn):
        return False
    db.session.commit()
    email = check["identity"]["email"]
    if not may_mail("idp-federated-email", keyed_digest(f"federated-email:{txn.realm_id}:{email_key(email)}"),
                    cooldown=COOLDOWN_SECONDS):
        check.update(sent_at=time.time())
        update_stage_state(txn, **{STATE_KEY: check})
        return False
    token = random_token(32)
    check.update(token_digest=_digest(token), sent_at=time.time(), sends=check.get("sends", 0) + 1)
    update_stage_state(txn, **{STATE_KEY: check})
    link_url = absolute_url("social.confirm_email", realm_name=txn.realm.name, txn_id=txn.id, token=token)
    minutes = max(1, int((txn.expires_at.timestamp() - time.time()) // 60))
    deliver_after_commit(compose(txn.realm, "confirm_login_email", to=email, to_address=email,
                                 provider=check["provider_name"],
                                 link_url=link_url, lifetime_minutes=minutes))
    record_event("federation.email_check_sent", realm=txn.realm, provider=check["provider"])
    return True


def confirm(txn, token: str) -> tuple[str, dict] | None:
    """The provider name and the identity, now with a proven address, when ``token`` is the
    login's current link; None otherwise. The check ends either way on success."""
    check = pending_check(txn)
    if not check or not check.get("token_digest") or not token or len(token) > 128:
        return None
    if not digests_equal(_digest(token), check["token_digest"]):
        return None
    update_stage_state(txn, **{STATE_KEY: None})
    return check["provider"], {**check["identity"], "email_proven": True}
