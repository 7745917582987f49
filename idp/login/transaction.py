"""The login transaction: which authorization request it serves, whose login it is, which
stages are done. The stages themselves are registered in ``idp.login.stages``."""
from __future__ import annotations

import datetime as dt
import functools
import time
import uuid

from flask import current_app, request, url_for
from sqlalchemy import inspect
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..database import (
    DirectStatement,
    commit_keeping_loaded_state,
    persistent_with_user,
    session_has_written_nothing,
    with_user_statement,
)
from ..extensions import db
from ..i18n import _
from ..models import LoginTransaction, utcnow
from ..ratelimit import count_login_transaction
from ..security import digests_equal, keyed_digest, random_token
from .acr import requests_mfa
from .stages import LOGIN_REQUIRED, Prompt, next_stage  # noqa: F401 (next_stage: its old home)

BINDING_COOKIE = "idp_login"


class TransactionInvalid(Exception):
    """The transaction does not exist, has expired, is finished, or belongs to another browser."""


class PasswordStage:
    """Who is logging in: the password page (or registration, or an upstream provider, which
    set the user themselves). Skipped when a browser session already names the user."""

    key = "password"

    def check(self, txn):
        return Prompt("no_user", LOGIN_REQUIRED) if txn.user_id is None else None

    def url(self, txn):
        endpoint = "login.register" if txn.form_variant == "registration" else "login.login"
        return url_for(endpoint, realm_name=txn.realm.name, txn_id=txn.id)


#: What a login's progress writes: its transaction row, and the audit event of a step with the
#: webhook deliveries that event makes. A commit that wrote only these need not wait for the disk
#: (``idp.database.commit_keeping_loaded_state``): lost in a crash, the person redoes one page.
LOGIN_PROGRESS_TABLES = frozenset({"login_transactions", "audit_events", "webhook_deliveries"})


def begin_transaction(realm, client, params: dict, *, browser_session=None,
                      return_to: str | None = None, step_up_mfa: bool = False, purpose: str | None = None):
    """Start a login for an authorization request (or, with no client, for one of our own pages
    named by ``return_to``). Returns the transaction and the secret that binds it to this
    browser (set as a cookie by the caller).

    Anyone may start a login, so this is where what they can store is bounded: a per-IP limit
    on new transactions (``LoginTransactionLimitExceeded``, raised before anything is written).
    ``params`` holds only parameters the protocol layer knows and checked (``/authorize``
    passes ``parameters_to_store``)."""
    count_login_transaction()
    settings = current_app.extensions["idp.settings"]
    binding = random_token(24)
    txn = LoginTransaction(
        id=uuid.uuid4().hex,
        realm_id=realm.id,
        client_id=client.client_id if client is not None else "",
        authorization_request=params,
        browser_binding=keyed_digest(binding),
        form_variant="login",
        completed_stages=[],
        amr=[],
        stage_state={"step_up_mfa": step_up_mfa or requests_mfa(params.get("acr_values")),
                     "return_to": return_to, **({"purpose": purpose} if purpose else {})},
        status="pending",
        expires_at=utcnow() + dt.timedelta(seconds=settings.login.transaction_lifetime),
    )
    if browser_session is not None:
        txn.user_id = browser_session.user_id
        txn.amr = list(browser_session.amr or [])
        txn.auth_time = browser_session.auth_time
        txn.stage_state = {**txn.stage_state, "sid": browser_session.sid}
    db.session.add(txn)
    # a login just begun: lost in a crash, the browser starts it again (``commit_keeping_loaded_state``)
    commit_keeping_loaded_state(no_disk_wait_if_only=LOGIN_PROGRESS_TABLES)
    return txn, binding


def load_transaction(realm, txn_id: str) -> LoginTransaction:
    """The pending transaction ``txn_id`` of ``realm`` bound to this browser, with its user."""
    txn = _read_transaction(txn_id) if txn_id and len(txn_id) <= 64 else None
    if txn is None or txn.realm_id != realm.id:
        raise TransactionInvalid(_("This login link is not valid. Start again from the application."))
    binding = request.cookies.get(BINDING_COOKIE)
    if not binding or not digests_equal(keyed_digest(binding), txn.browser_binding):
        raise TransactionInvalid(_("This login was started in another browser. Start again from the application."))
    if txn.status != "pending":
        raise TransactionInvalid(_("This login has already finished. Start again from the application."))
    if txn.is_expired():
        raise TransactionInvalid(_("This login took too long and has expired. Start again from the application."))
    return txn


@functools.cache
def _transaction_with_user() -> DirectStatement:
    return with_user_statement(LoginTransaction, lambda transactions: transactions.c.id == db.bindparam("id"))


def _read_transaction(txn_id: str) -> LoginTransaction | None:
    """The transaction with its user, in the request's session as if it had loaded them.

    Every login page starts here (four times in a login with a second factor), and the ORM's
    ``get`` with the user joined cost about a millisecond of CPU each time, ten times the
    ``DirectStatement`` that reads the same row outside the session's transaction. Each view
    reads it first, before anything is written; where something was, the session's own query
    runs (``session_has_written_nothing``), and one the session holds is the one returned."""
    session = db.session()
    held = session.identity_map.get(session.identity_key(LoginTransaction, txn_id))
    if held is not None or not session_has_written_nothing(session):
        return held or session.get(LoginTransaction, txn_id, options=[joinedload(LoginTransaction.user)])
    row = _transaction_with_user().first(db.engine, {"id": txn_id})
    if row is None:
        return None
    return persistent_with_user(session, LoginTransaction, row)


def authenticate_in_transaction(txn: LoginTransaction, user, *, stage_key: str, amr: list[str]) -> None:
    """Record that ``stage_key`` authenticated ``user`` with the given methods."""
    if txn.user_id is not None and txn.user_id != user.id:
        raise TransactionInvalid(_("This login belongs to another account. Start again from the application."))
    if txn.user_id is None:
        txn.user_id = user.id
        txn.user = user  # the relationship was loaded (as nobody) with the transaction
        txn.amr = []
    txn.amr = ordered_amr(set(txn.amr or []) | set(amr))
    txn.auth_time = int(time.time())
    complete_stage(txn, stage_key)


def complete_stage(txn: LoginTransaction, stage_key: str) -> None:
    done = list(txn.completed_stages or [])
    if stage_key not in done:
        done.append(stage_key)
    txn.completed_stages = done


def update_stage_state(txn: LoginTransaction, **values) -> None:
    state = dict(txn.stage_state or {})
    state.update(values)
    txn.stage_state = state


def claim_completion(txn: LoginTransaction) -> bool:
    """Atomically move the transaction from pending to complete: only one request finishes it.

    What the request changed on the transaction so far (its last stage, ``amr``, ``auth_time``)
    is written by the same ``UPDATE``, only if the claim succeeds: one statement where a claim
    and a flush of the row were two. Changes made after the claim (``conclude_stages``) are
    flushed as usual."""
    state = inspect(txn)
    changed = {attr.key: attr.value for attr in state.attrs
               if attr.key in _COLUMN_KEYS and attr.history.has_changes()}
    result = db.session.execute(
        db.update(LoginTransaction)
        .where(LoginTransaction.id == txn.id, LoginTransaction.status == "pending")
        .values(**changed, status="complete")
        .execution_options(autoflush=False, synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    for key, value in {**changed, "status": "complete"}.items():
        set_committed_value(txn, key, value)  # stored by the claim: nothing left to flush
    return True


_COLUMN_KEYS = frozenset(attr.key for attr in inspect(LoginTransaction).column_attrs) - {"id", "status"}


_AMR_ORDER = ["pwd", "fed", "mfa", "sms", "otp", "hwk", "swk", "user"]


def ordered_amr(methods) -> list[str]:
    """RFC 8176 values in a stable order: ["pwd", "mfa", "sms"]."""
    rank = {value: i for i, value in enumerate(_AMR_ORDER)}
    return sorted(set(methods), key=lambda v: (rank.get(v, len(rank)), v))


def transaction_blueprint(name: str, import_name: str, url_suffix: str = ""):
    """A blueprint for the pages of a login transaction: ``/realms/<realm>/login/<txn>{suffix}``
    with the realm in ``g.realm``, the transaction id in ``g.txn_id`` (and in generated URLs),
    per-IP limits on form posts, and a clear page when the transaction cannot continue."""
    from flask import Blueprint, g

    from ..ratelimit import limit_form_posts
    from ..web import add_realm_name, load_realm, render_error

    blueprint = Blueprint(name, import_name, url_prefix=f"/realms/<realm_name>/login/<txn_id>{url_suffix}")
    blueprint.url_value_preprocessor(load_realm)
    blueprint.url_defaults(add_realm_name)
    limit_form_posts(blueprint)

    @blueprint.url_value_preprocessor
    def take_txn_id(endpoint, values):
        g.txn_id = values.pop("txn_id", None) if values else None

    @blueprint.url_defaults
    def add_txn_id(endpoint, values):
        if "txn_id" not in values and g.get("txn_id"):
            values["txn_id"] = g.txn_id

    @blueprint.errorhandler(TransactionInvalid)
    def transaction_invalid(error):
        return render_error(400, _("This login cannot continue"), str(error))

    return blueprint
