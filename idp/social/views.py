"""Federated login: /realms/<realm>/login/<transaction>/social/<provider> -> upstream ->
/realms/<realm>/social/callback (the one URI registered upstream) -> back into the transaction.

The upstream's client (``upstream``: Authlib's requests integration, with ``requests``) is
imported by the two views that talk to an upstream: a process that sends no one upstream never
loads it."""
from __future__ import annotations

import secrets

from authlib.common.errors import AuthlibBaseError
from flask import Blueprint, g, redirect, request, url_for
from joserfc.errors import JoseError

from ..extensions import csrf, db
from ..i18n import _
from ..lifecycle.links import mask_email
from ..login import flow as login_flow
from ..login.acr import ACR_MULTI_FACTOR
from ..login.completion import defer_until_login_succeeds
from ..login.forms import ConfirmForm
from ..login.transaction import (
    TransactionInvalid,
    authenticate_in_transaction,
    load_transaction,
    update_stage_state,
)
from ..oidc.issuer import realm_issuer
from ..ratelimit import limit_form_posts
from ..security import digests_equal
from ..services import ServiceError
from ..services.audit import record_event
from ..themes import render_page
from ..web import add_realm_name, load_realm, render_error
from . import email_check
from .linking import LINK_IDENTITY, LINK_USED, EmailCheckNeeded, PasswordNeededToLink, ask_password_to_link, resolve_account
from .providers import find_provider, upstream_did_allowed_mfa

social_bp = Blueprint("social", __name__, url_prefix="/realms/<realm_name>")
social_bp.url_value_preprocessor(load_realm)
social_bp.url_defaults(add_realm_name)
limit_form_posts(social_bp)

#: What a federated login says about itself in ``amr``: only what *we* checked. The upstream's
#: own ``amr``/``acr`` are kept in the login's state (``federated``), never copied into ours.
FEDERATED_AMR = ["fed"]
#: The parameters an upstream may send to the callback (RFC 6749 §4.1.2, RFC 9207's ``iss``).
CALLBACK_PARAMETERS = ("code", "state", "error", "error_description", "iss")
MAX_CALLBACK_VALUE = 4096


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


def _bad_upstream_response():
    return render_error(400, _("This login cannot continue"), _("The response from the login provider is not valid."))


@social_bp.get("/login/<txn_id>/social/<provider_name>")
def start(txn_id, provider_name):
    txn = load_transaction(g.realm, txn_id)
    provider = find_provider(g.realm, provider_name)
    if provider is None:
        return render_error(404, _("Unknown login method"),
                            _("'%(name)s' is not a login method here.", name=provider_name[:64]))
    if not provider.enabled:
        return render_error(404, _("Unknown login method"), _("%(provider)s logins are turned off.", provider=provider.display_name))
    import requests

    from .upstream import client_for

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


def _callback_parameters() -> dict | None:
    """The parameters we read from the upstream's answer, or None when one is malformed.
    Anything else it sends is ignored, never passed on."""
    params = {}
    for name in CALLBACK_PARAMETERS:
        value = request.values.get(name)
        if value is None:
            continue
        if len(value) > MAX_CALLBACK_VALUE or not value.isprintable():
            return None
        params[name] = value
    return params


@social_bp.route("/social/callback", methods=["GET", "POST"])
@csrf.exempt
def callback():
    """The upstream's redirect lands here; hop to the transaction's own URL, where its browser
    binding cookie is sent. (Apple posts the response: its fields become the query.)"""
    params = _callback_parameters()
    txn_id = ((params or {}).get("state") or "").split(".", 1)[0]
    if params is None or not txn_id or len(txn_id) > 64 or not txn_id.isalnum() or not txn_id.isascii():
        return _bad_upstream_response()
    return redirect(url_for("social.finish", txn_id=txn_id, **params), code=303)


@social_bp.get("/login/<txn_id>/social/callback")
def finish(txn_id):
    txn = load_transaction(g.realm, txn_id)
    params = _callback_parameters()
    if params is None:
        return _bad_upstream_response()
    pending = (txn.stage_state or {}).get("social") or {}
    state = params.get("state") or ""
    if not pending or not digests_equal(state, pending.get("state") or ""):
        if not (txn.stage_state or {}).get("state_mismatch_recorded"):
            # once per login: this answer costs the caller a GET, so it must not cost us a row each
            record_event("federation.state_mismatch", realm=g.realm)
            update_stage_state(txn, state_mismatch_recorded=True)
        return _back_to_login(txn, _("The login provider's answer did not match this login. Try again."))
    provider = find_provider(g.realm, pending["provider"])
    if provider is None or not provider.enabled:
        return _back_to_login(txn, _("This login method is no longer available. Log in another way."))
    if params.get("error"):
        if params["error"] == "access_denied":
            message = _("You cancelled at %(provider)s. Try again, or log in another way.", provider=provider.display_name)
        else:
            message = _("There was a problem at %(provider)s. Try again, or log in another way.",
                        provider=provider.display_name)
        return _back_to_login(txn, message)
    import requests

    from .upstream import UpstreamError, client_for, upstream_identity

    client = client_for(provider, callback_uri(g.realm))
    try:
        _check_issuer_parameter(provider, client, params.get("iss"))
        token = client.fetch_access_token(code=params.get("code"), code_verifier=pending.get("code_verifier"))
        identity = upstream_identity(provider, client, token, pending.get("nonce"))
    except UpstreamError as error:
        return _back_to_login(txn, str(error))
    except (JoseError, AuthlibBaseError, requests.RequestException, KeyError, ValueError) as error:
        record_event("federation.failed", realm=g.realm, provider=provider.name, reason=type(error).__name__)
        return _back_to_login(txn, _("We could not verify your %(provider)s login. Try again, or log in another way.",
                                     provider=provider.display_name))
    update_stage_state(txn, social=None)
    return continue_federated_login(txn, provider, identity)


def _check_issuer_parameter(provider, client, iss: str | None) -> None:
    """RFC 9207: an upstream that names its issuer in the response must name the one we
    configured (a mix-up attack sends another provider's answer here)."""
    from .upstream import UpstreamError

    if iss is None or provider.kind == "github":
        return
    expected = client.load_server_metadata().get("issuer") or provider.issuer
    if "{" not in expected and iss != expected:
        raise UpstreamError(_("%(provider)s announced a different issuer than the one configured.",
                              provider=provider.display_name))


def continue_federated_login(txn, provider, identity: dict):
    """Decide whose login this is (``linking.resolve_account``), then authenticate the
    transaction with what *we* know: ``amr`` ``["fed"]``; what the upstream said about its own
    second factor counts only in ``upstream`` mode, and only for the values the operator
    allowed (``upstream_did_allowed_mfa``)."""
    try:
        resolution = resolve_account(g.realm, provider, identity)
    except EmailCheckNeeded:
        email_check.begin(txn, provider, identity)
        db.session.commit()
        return redirect(url_for("social.check_email", txn_id=txn.id))
    except PasswordNeededToLink as needed:
        ask_password_to_link(txn, provider, identity, needed.user)
        update_stage_state(txn, login_message=_("An account with this email already exists. Log in with its password "
                                                "once to link your %(provider)s account.",
                                                provider=provider.display_name))
        db.session.commit()
        return redirect(url_for("login.login", txn_id=txn.id, email=needed.email))
    except ServiceError as error:
        db.session.rollback()
        return _back_to_login(txn, error.message)
    user = resolution.user
    if user.disabled:
        db.session.rollback()
        return _back_to_login(txn, _("This account is disabled."))
    if resolution.link_on_success is not None:
        defer_until_login_succeeds(txn, LINK_IDENTITY, **resolution.link_on_success)
    else:
        defer_until_login_succeeds(txn, LINK_USED, provider=provider.name, sub=identity["sub"])
    upstream_mfa = upstream_did_allowed_mfa(provider, identity.get("amr"), identity.get("acr"))
    update_stage_state(
        txn, login_message=None,
        federated={"provider": provider.name, "upstream_amr": identity.get("amr"), "upstream_acr": identity.get("acr")},
        skip_mfa=provider.mfa_mode == "skip", require_mfa=provider.mfa_mode == "require",
        upstream_mfa=upstream_mfa, **({"acr": ACR_MULTI_FACTOR} if upstream_mfa else {}),
    )
    authenticate_in_transaction(txn, user, stage_key="password", amr=FEDERATED_AMR)
    record_event("login.federated", realm=g.realm, user=user, provider=provider.name,
                 upstream_amr=identity.get("amr"), upstream_acr=identity.get("acr"), upstream_mfa=upstream_mfa)
    return login_flow.advance(txn)


# --- proving an address the upstream did not verify ------------------------------------------

def _check_email_page(txn, *, status=200, messages=None):
    check = email_check.pending_check(txn)
    wait = email_check.seconds_until_resend(txn)
    return render_page(
        "social_check_email.html", realm=g.realm, status=status,
        form=ConfirmForm(formdata=None), masked_email=mask_email(check["identity"]["email"]),
        provider=check["provider_name"], resend_url=url_for("social.check_email", txn_id=txn.id),
        resend_wait_seconds=wait, can_resend=email_check.may_send_again(txn) or wait > 0,
        login_url=url_for("login.login", txn_id=txn.id), flash_messages=messages or [],
        page_title=_("Check your inbox"),
    )


@social_bp.route("/login/<txn_id>/social/check-email", methods=["GET", "POST"])
def check_email(txn_id):
    """"Check your inbox": the link we mailed proves the address before it is used."""
    txn = load_transaction(g.realm, txn_id)
    if email_check.pending_check(txn) is None:
        return login_flow.advance(txn) if txn.user_id else redirect(url_for("login.login", txn_id=txn.id))
    if request.method == "GET":
        return _check_email_page(txn)
    if not ConfirmForm().validate_on_submit():
        return _check_email_page(txn, status=400, messages=[("error", _("Your form expired. Try again."))])
    sent = email_check.send(txn)
    db.session.commit()
    if sent:
        return _check_email_page(txn, messages=[("success", _("We sent a new link."))])
    wait = email_check.seconds_until_resend(txn)
    message = (_("Wait %(seconds)s seconds before asking for another email.", seconds=wait) if wait
               else _("We cannot send more emails for this login. Start again from the application."))
    return _check_email_page(txn, status=429, messages=[("error", message)])


@social_bp.route("/login/<txn_id>/social/check-email/<token>", methods=["GET", "POST"])
def confirm_email(txn_id, token):
    """The mailed link. It opens a page with a button rather than acting on the GET: mail
    scanners fetch every link in a message."""
    txn = load_transaction(g.realm, txn_id)
    check = email_check.pending_check(txn)
    if check is None:
        return render_error(400, _("This link cannot be used"),
                            _("This link was already used. Each link works only once."))
    form = ConfirmForm()
    if form.validate_on_submit():
        confirmed = email_check.confirm(txn, token)
        if confirmed is None:
            return render_error(400, _("This link cannot be used"),
                                _("This link is not valid. Check that you copied the whole link from the email."))
        provider_name, identity = confirmed
        provider = find_provider(g.realm, provider_name)
        if provider is None or not provider.enabled:
            return _back_to_login(txn, _("This login method is no longer available. Log in another way."))
        record_event("federation.email_checked", realm=g.realm, provider=provider.name)
        return continue_federated_login(txn, provider, identity)
    return render_page("verify_email_confirm.html", realm=g.realm, form=form, email=check["identity"]["email"],
                       action_url=request.path, page_title=_("Verify your email address"))
