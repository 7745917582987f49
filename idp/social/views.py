"""Federated login: /realms/<realm>/login/<transaction>/social/<provider> -> upstream ->
/realms/<realm>/social/callback (the one URI registered upstream) -> back into the transaction."""
from __future__ import annotations

import secrets

import requests
from authlib.common.errors import AuthlibBaseError
from flask import Blueprint, g, redirect, request, url_for
from joserfc.errors import JoseError

from ..extensions import csrf, db
from ..i18n import _
from ..login import flow as login_flow
from ..login.transaction import (
    TransactionInvalid,
    authenticate_in_transaction,
    load_transaction,
    update_stage_state,
)
from ..oidc.issuer import realm_issuer
from ..security import digests_equal
from ..services import NotFound, ServiceError
from ..services.audit import record_event
from ..web import add_realm_name, load_realm, render_error
from .linking import PasswordNeededToLink, user_for_identity
from .providers import get_provider
from .upstream import UpstreamError, client_for, upstream_identity

social_bp = Blueprint("social", __name__, url_prefix="/realms/<realm_name>")
social_bp.url_value_preprocessor(load_realm)
social_bp.url_defaults(add_realm_name)

FEDERATED_AMR = ["fed"]
MFA_MARKERS = ("mfa", "multi-factor", "multifactor")


@social_bp.errorhandler(TransactionInvalid)
def transaction_invalid(error):
    return render_error(400, _("This login cannot continue"), str(error))


def callback_uri(realm) -> str:
    return f"{realm_issuer(realm)}/social/callback"


def _back_to_login(txn, message: str):
    """Upstream trouble never loses the app's request: the login page says what happened."""
    update_stage_state(txn, social=None, login_message=message)
    db.session.commit()
    return redirect(url_for("login.login", txn_id=txn.id))


@social_bp.get("/login/<txn_id>/social/<provider_name>")
def start(txn_id, provider_name):
    txn = load_transaction(g.realm, txn_id)
    try:
        provider = get_provider(g.realm, provider_name)
    except NotFound:
        return render_error(404, _("Unknown login method"), _("'%(name)s' is not a login method here.", name=provider_name))
    if not provider.enabled:
        return render_error(404, _("Unknown login method"), _("%(provider)s logins are turned off.", provider=provider.display_name))
    client = client_for(provider, callback_uri(g.realm))
    state = f"{txn.id}.{secrets.token_urlsafe(24)}"
    try:
        authorization = client.create_authorization_url(state=state)
    except (requests.RequestException, AuthlibBaseError, RuntimeError, ValueError):
        return _back_to_login(txn, _("%(provider)s is not reachable right now. Try again, or log in another way.",
                                   provider=provider.display_name))
    update_stage_state(txn, social={"provider": provider.name, "state": state,
                                    "nonce": authorization.get("nonce"),
                                    "code_verifier": authorization.get("code_verifier")})
    db.session.commit()
    return redirect(authorization["url"])


@social_bp.route("/social/callback", methods=["GET", "POST"])
@csrf.exempt
def callback():
    """The upstream's redirect lands here; hop to the transaction's own URL, where its browser
    binding cookie is sent. (Apple posts the response: its fields become the query.)"""
    params = request.values.to_dict(flat=True)
    txn_id = (params.get("state") or "").split(".", 1)[0]
    if not txn_id or len(txn_id) > 64 or not txn_id.isalnum():
        return render_error(400, _("This login cannot continue"), _("The response from the login provider is not valid."))
    return redirect(url_for("social.finish", txn_id=txn_id, **params), code=303)


@social_bp.get("/login/<txn_id>/social/callback")
def finish(txn_id):
    txn = load_transaction(g.realm, txn_id)
    pending = (txn.stage_state or {}).get("social") or {}
    state = request.args.get("state") or ""
    if not pending or not digests_equal(state, pending.get("state") or ""):
        record_event("federation.state_mismatch", realm=g.realm)
        db.session.commit()
        return _back_to_login(txn, _("The login provider's answer did not match this login. Try again."))
    provider = get_provider(g.realm, pending["provider"])
    if request.args.get("error"):
        if request.args.get("error") == "access_denied":
            message = _("You cancelled at %(provider)s. Try again, or log in another way.", provider=provider.display_name)
        else:
            message = _("There was a problem at %(provider)s. Try again, or log in another way.",
                        provider=provider.display_name)
        return _back_to_login(txn, message)
    client = client_for(provider, callback_uri(g.realm))
    try:
        token = client.fetch_access_token(code=request.args.get("code"), code_verifier=pending.get("code_verifier"))
        identity = upstream_identity(provider, client, token, pending.get("nonce"))
    except UpstreamError as error:
        return _back_to_login(txn, str(error))
    except (JoseError, AuthlibBaseError, requests.RequestException, KeyError, ValueError) as error:
        record_event("federation.failed", realm=g.realm, provider=provider.name, reason=type(error).__name__)
        return _back_to_login(txn, _("We could not verify your %(provider)s login. Try again, or log in another way.",
                                     provider=provider.display_name))
    try:
        user = user_for_identity(g.realm, provider, identity)
    except PasswordNeededToLink as needed:
        update_stage_state(txn, social=None, pending_link={"provider": provider.name, "sub": identity["sub"],
                                                           "email": needed.email},
                           login_message=_("An account with this email already exists. Log in with its password "
                                           "once to link your %(provider)s account.", provider=provider.display_name))
        db.session.commit()
        return redirect(url_for("login.login", txn_id=txn.id, email=needed.email))
    except ServiceError as error:
        db.session.rollback()
        return _back_to_login(txn, error.message)
    if user.disabled:
        return _back_to_login(txn, _("This account is disabled."))
    amr = identity["amr"] or FEDERATED_AMR
    upstream_did_mfa = "mfa" in amr or any(m in str(identity.get("acr") or "").lower() for m in MFA_MARKERS)
    skip_mfa = provider.mfa_mode == "skip" or (provider.mfa_mode == "upstream" and upstream_did_mfa)
    update_stage_state(txn, social=None, login_message=None, skip_mfa=skip_mfa, federated=provider.name)
    authenticate_in_transaction(txn, user, stage_key="password", amr=amr)
    record_event("login.federated", realm=g.realm, user=user, provider=provider.name)
    return login_flow.advance(txn)
