"""Driving a login transaction: begin it, move it to its next stage, finish it with a result
that the layer which started the login answers (``idp.login.resume``)."""
from __future__ import annotations

from flask import current_app, redirect, url_for

from ..database import commit_keeping_loaded_state
from ..extensions import db
from ..i18n import _
from ..services.users import touch_last_login
from . import transaction as txns
from .acr import acr_for
from .completion import apply_deferred_changes
from .resume import LoginResult, answer_for
from .sessions import current_browser_session, start_browser_session
from .stages import Prompt, conclude_stages, pending_prompt


def _binding_cookie_path(txn) -> str:
    """Scoped to the transaction's own pages, so two logins in two tabs do not collide."""
    return f"/realms/{txn.realm.name}/login/{txn.id}"


class InteractionNeeded(Exception):
    """A login that may not show pages (``prompt=none``) would need one; ``prompt`` says which
    stage and why, and so which error the caller answers with. The transaction is cancelled."""

    def __init__(self, prompt: Prompt):
        super().__init__(prompt.reason)
        self.prompt = prompt


def begin_login(realm, client, params: dict, *, browser_session, interactive: bool = True,
                purpose: str | None = None, return_to: str | None = None, step_up_mfa: bool = False):
    """Start a login and send the browser to its first page, or, when it may not show pages,
    finish it at once or raise ``InteractionNeeded``. Over the per-IP limit on new logins,
    ``LoginTransactionLimitExceeded`` is raised before anything is stored (the app-wide handler
    shows a 429 page; the protocol layer may answer otherwise)."""
    txn, binding = txns.begin_transaction(realm, client, params, browser_session=browser_session,
                                          return_to=return_to, step_up_mfa=step_up_mfa, purpose=purpose)
    if not interactive:
        pending = pending_prompt(txn)
        if pending is not None:
            txn.status = "cancelled"
            db.session.commit()
            raise InteractionNeeded(pending[1])
        return finish(txn)
    response = advance(txn)
    response.set_cookie(
        txns.BINDING_COOKIE,
        binding,
        max_age=current_app.extensions["idp.settings"].login.transaction_lifetime,
        path=_binding_cookie_path(txn),
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Lax",
    )
    return response


def advance(txn, *, progress_only: bool = False):
    """Redirect to the next stage's page, or finish the login when every stage is done (in the
    same transaction as the step that led here: ``finish`` commits it all).

    The commits keep what the request loaded: the transaction, realm and user are this login's
    own rows, and the redirect and cookies that follow only read them.

    ``progress_only``: the step that led here changed nothing but this login's progress (and
    its audit event), so moving on to the next page need not wait for the disk
    (``txns.LOGIN_PROGRESS_TABLES``: a crash in that moment loses the step
    and the person does it again). Finishing always waits."""
    pending = pending_prompt(txn)
    if pending is None:
        return finish(txn)
    url = pending[0].url(txn)
    commit_keeping_loaded_state(no_disk_wait_if_only=txns.LOGIN_PROGRESS_TABLES if progress_only else frozenset())
    return redirect(url)


def finish(txn):
    """Create the browser session and hand the result to whoever started the login. Nothing
    about the account changed before this point (``idp.login.completion``)."""
    realm, user = txn.realm, txn.user
    if user is not None and user.disabled:
        raise txns.TransactionInvalid(_("This account is disabled."))
    if user is None or not txns.claim_completion(txn):
        raise txns.TransactionInvalid(_("This login has already finished. Start again from the application."))
    conclude_stages(txn)
    apply_deferred_changes(txn)
    existing = current_browser_session(realm)
    state = txn.stage_state or {}
    amr = list(txn.amr or [])
    mfa_at = state.get("mfa_at")
    if (
        existing is not None
        and existing.sid == state.get("sid")
        and existing.user_id == user.id
        and set(existing.amr or []) == set(amr)
    ):
        session = existing
        if mfa_at:
            session.mfa_at, session.auth_time = mfa_at, txn.auth_time
    else:
        # a stage may set the class itself: a remembered device (idp.lifecycle.devices)
        acr = state.get("acr") or acr_for(amr)
        session = start_browser_session(realm, user, auth_time=txn.auth_time, amr=amr, acr=acr, mfa_at=mfa_at)
        touch_last_login(user)
        from ..services.audit import record_event

        record_event("login.succeeded", realm=realm, user=user, client_id=txn.client_id, amr=amr)
    db.session.flush()
    if not txn.client_id and not state.get("purpose"):
        commit_keeping_loaded_state()
        response = redirect(state.get("return_to") or url_for("account.home", realm_name=realm.name))
        response.delete_cookie(txns.BINDING_COOKIE, path=_binding_cookie_path(txn))
        return response
    result = LoginResult(user=user, amr=list(session.amr), acr=session.acr, auth_time=session.auth_time,
                         sid=session.sid)
    response = answer_for(txn).complete(txn, result)
    commit_keeping_loaded_state()
    response.delete_cookie(txns.BINDING_COOKIE, path=_binding_cookie_path(txn))
    return response


def deny(txn, reason: str = "access_denied"):
    """The user refused (at the consent page): the login ends and whoever started it is told."""
    txn.status = "cancelled"
    db.session.commit()
    response = answer_for(txn).deny(txn, reason)
    response.delete_cookie(txns.BINDING_COOKIE, path=_binding_cookie_path(txn))
    return response
