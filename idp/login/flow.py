"""Driving a login transaction: begin it, move it to its next stage, finish it with a code."""
from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError, InteractionRequiredError, LoginRequiredError
from flask import current_app, g, redirect, url_for

from ..database import commit_keeping_loaded_state
from ..extensions import db
from ..i18n import _
from ..oidc.server import authorization_server
from ..ratelimit import LoginTransactionLimitExceeded
from ..services.users import touch_last_login
from . import transaction as txns
from .acr import acr_for
from .completion import apply_deferred_changes
from .sessions import current_browser_session, start_browser_session
from .stages import CONSENT_REQUIRED, LOGIN_REQUIRED, conclude_stages, pending_prompt

_PROMPT_NONE_ERRORS = {LOGIN_REQUIRED: LoginRequiredError, CONSENT_REQUIRED: ConsentRequiredError}


def _binding_cookie_path(txn) -> str:
    """Scoped to the transaction's own pages, so two logins in two tabs do not collide."""
    return f"/realms/{txn.realm.name}/login/{txn.id}"


class TemporarilyUnavailableError(OAuth2Error):
    """RFC 6749 §4.1.2.1: the server cannot handle the request now (here: too many logins were
    started from the caller's network)."""

    error = "temporarily_unavailable"


def begin_login(realm, client, params: dict, *, browser_session, prompts: list[str] = (),
                redirect_uri: str | None = None, return_to: str | None = None, step_up_mfa: bool = False):
    """Start a login and send the browser to its first page. Over the per-IP limit on new
    logins, the app-wide handler shows a 429 page; a ``prompt=none`` request, which no person
    is watching, gets ``temporarily_unavailable`` at its redirect_uri instead."""
    try:
        txn, binding = txns.begin_transaction(realm, client, params, browser_session=browser_session,
                                              return_to=return_to, step_up_mfa=step_up_mfa)
    except LoginTransactionLimitExceeded:
        if "none" not in prompts or not redirect_uri:
            raise
        from ..oidc.views import authorization_error

        return authorization_error(TemporarilyUnavailableError(
            "Too many logins were started from this network; try again later.",
            redirect_uri=redirect_uri, state=params.get("state")))
    if "none" in prompts:
        pending = pending_prompt(txn)
        if pending is not None:
            txn.status = "cancelled"
            db.session.commit()
            error = _PROMPT_NONE_ERRORS.get(pending[1].error, InteractionRequiredError)(redirect_uri=redirect_uri)
            error.state = params.get("state")
            from ..oidc.views import authorization_error

            return authorization_error(error)
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


def advance(txn):
    """Redirect to the next stage's page, or finish the login when every stage is done.

    The commits keep what the request loaded: the transaction, realm and user are this login's
    own rows, and the redirect and cookies that follow only read them."""
    stage = txns.next_stage(txn)
    if stage is None:
        commit_keeping_loaded_state()
        return finish(txn)
    commit_keeping_loaded_state()
    return redirect(stage.url(txn))


def finish(txn):
    """Create the browser session and answer the authorization request with a code. Nothing
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
    if not txn.client_id:
        commit_keeping_loaded_state()
        response = redirect(state.get("return_to") or url_for("account.home", realm_name=realm.name))
        response.delete_cookie(txns.BINDING_COOKIE, path=_binding_cookie_path(txn))
        return response
    g.login_result = {"sid": session.sid, "auth_time": session.auth_time, "amr": list(session.amr), "acr": session.acr}
    issuer_url = url_for("oidc.authorize", realm_name=realm.name, _external=True)
    oauth_request = authorization_server.authorization_request_from(issuer_url, txn.authorization_request)
    try:
        grant = authorization_server.get_authorization_grant(oauth_request)
    except OAuth2Error as error:
        db.session.commit()
        from ..oidc.views import authorization_error

        return authorization_error(error)
    response = authorization_server.create_authorization_response(request=oauth_request, grant_user=user, grant=grant)
    commit_keeping_loaded_state()
    response.delete_cookie(txns.BINDING_COOKIE, path=_binding_cookie_path(txn))
    return response
