"""Pages of the account life cycle, under /realms/<realm>/...

Inside a login (``/login/<transaction>/...``, where the browser's binding cookie is sent):
"Forgot password?", the "Check your inbox" stage, and the two kinds of mailed link when a login
asked for them. Outside a login: the same links for mails sent without one. A link opened in
the browser of the login that asked for it continues that login; anywhere else it finishes on
its own page."""
from __future__ import annotations

from flask import Blueprint, g, request, url_for

from ..extensions import db
from ..i18n import _
from ..login import flow
from ..login.forms import ConfirmForm
from ..login.transaction import (
    TransactionInvalid,
    authenticate_in_transaction,
    load_transaction,
    next_stage,
)
from ..ratelimit import limit_form_posts
from ..services import ServiceError
from ..services.clients import find_client
from ..services.password_attempts import PasswordLoginLocked
from ..services.passwords import password_hint
from ..themes import render_page
from ..web import add_realm_name, load_realm, render_error
from . import invitation, links, registration, reset, verification
from .forms import ConfirmRegistrationForm, ForgotPasswordForm, NewPasswordForm

lifecycle_bp = Blueprint("lifecycle", __name__, url_prefix="/realms/<realm_name>")
lifecycle_bp.url_value_preprocessor(load_realm)
lifecycle_bp.url_defaults(add_realm_name)
limit_form_posts(lifecycle_bp)


@lifecycle_bp.errorhandler(TransactionInvalid)
def transaction_invalid(error):
    return render_error(400, _("This login cannot continue"), str(error))


@lifecycle_bp.errorhandler(links.LinkInvalid)
def link_invalid(error):
    return render_error(400, _("This link cannot be used"), error.message)


def _page(template, *, txn=None, status=200, **context):
    client = find_client(txn.realm, txn.client_id) if txn is not None and txn.client_id else None
    return render_page(template, realm=g.realm, client=client, status=status, **context)


def _login_that_asked(txn_id: str | None, link):
    """The login a link continues: the one that asked for it, still pending, in this browser,
    and not someone else's. None otherwise (the link then finishes on its own page)."""
    if not txn_id or link.transaction_id != txn_id:
        return None
    try:
        txn = load_transaction(g.realm, txn_id)
    except TransactionInvalid:
        return None
    if txn.user_id not in (None, link.user_id):
        return None
    return txn


# --- password reset --------------------------------------------------------------------------

@lifecycle_bp.route("/login/<txn_id>/forgot-password", methods=["GET", "POST"])
def forgot_password(txn_id):
    txn = load_transaction(g.realm, txn_id)
    if txn.user_id is not None:
        return flow.advance(txn)
    form = ForgotPasswordForm()
    if request.method == "GET":
        hint = request.args.get("email") or txn.authorization_request.get("login_hint")
        if hint:
            form.email.data = hint[:320]
    login_url = url_for("login.login", realm_name=g.realm.name, txn_id=txn.id)
    if form.validate_on_submit():
        reset.request_password_reset(g.realm, form.email.data, transaction_id=txn.id)
        return _page("forgot_password_sent.html", txn=txn, email=form.email.data, login_url=login_url,
                     lifetime_minutes=int(links.LIFETIMES[links.RESET_PASSWORD].total_seconds() // 60),
                     page_title=_("Check your email"))
    return _page("forgot_password.html", txn=txn, status=400 if form.errors else 200, form=form,
                 action_url=url_for("lifecycle.forgot_password", txn_id=txn.id), login_url=login_url,
                 page_title=_("Reset your password"))


@lifecycle_bp.route("/reset-password/<token>", methods=["GET", "POST"], defaults={"txn_id": None})
@lifecycle_bp.route("/login/<txn_id>/reset-password/<token>", methods=["GET", "POST"],
                    endpoint="reset_password_in_login")
def reset_password(token, txn_id):
    link = links.find_link(g.realm, token, links.RESET_PASSWORD)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset.reset_password(link, form.password.data)
        except ServiceError as error:
            db.session.rollback()
            form.password.errors = [error.message]
        else:
            db.session.commit()
            txn = _login_that_asked(txn_id, link)
            if txn is not None:
                authenticate_in_transaction(txn, user, stage_key="password", amr=["pwd"])
                return flow.advance(txn)
            return _page("reset_password_done.html", login_url=url_for("account.home", realm_name=g.realm.name),
                         page_title=_("Password changed"))
    return _page("reset_password.html", status=400 if form.errors else 200, form=form, email=link.user.email,
                 action_url=request.path, password_hint=password_hint(g.realm), page_title=_("Choose a new password"))


# --- invitations ------------------------------------------------------------------------------

@lifecycle_bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    """The link of an invitation an administrator sent: choose a password, then log in."""
    link = links.find_link(g.realm, token, links.INVITATION)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            invitation.accept_invitation(link, form.password.data)
        except ServiceError as error:
            db.session.rollback()
            form.password.errors = [error.message]
        else:
            db.session.commit()
            return _page("invitation_accepted.html", login_url=url_for("account.home", realm_name=g.realm.name),
                         page_title=_("Your account is ready"))
    return _page("accept_invitation.html", status=400 if form.errors else 200, form=form, email=link.user.email,
                 action_url=request.path, password_hint=password_hint(g.realm),
                 page_title=_("Choose your password"))


# --- email verification ----------------------------------------------------------------------

@lifecycle_bp.route("/login/<txn_id>/verify-email", methods=["GET", "POST"])
def verify_email_stage(txn_id):
    """"Check your inbox": the stage of a login whose realm requires a verified address."""
    txn = load_transaction(g.realm, txn_id)
    stage = next_stage(txn)
    if stage is None or stage.key != verification.EmailVerificationStage.key:
        return flow.advance(txn)
    user = txn.user
    form = ConfirmForm()
    messages, status = [], 200
    if request.method == "POST":
        wait = verification.resend_wait_seconds(user)
        if not form.validate_on_submit():
            messages, status = [("error", _("Your form expired. Try again."))], 400
        elif wait:
            messages, status = [("error", _("Wait %(seconds)s seconds before asking for another email.", seconds=wait))], 429
        else:
            verification.send_verification_email(user, transaction_id=txn.id)
            db.session.commit()
            messages = [("success", _("We sent a new link to %(email)s.", email=links.mask_email(user.email)))]
    elif not verification.has_pending_verification(user):
        verification.send_verification_email(user, transaction_id=txn.id)
        db.session.commit()
    return _page("verify_email.html", txn=txn, status=status, form=ConfirmForm(formdata=None),
                 masked_email=links.mask_email(user.email), resend_url=url_for("lifecycle.verify_email_stage",
                                                                               txn_id=txn.id),
                 continue_url=url_for("lifecycle.verify_email_stage", txn_id=txn.id),
                 resend_wait_seconds=verification.resend_wait_seconds(user),
                 lifetime_hours=int(links.LIFETIMES[links.VERIFY_EMAIL].total_seconds() // 3600),
                 flash_messages=messages, page_title=_("Check your inbox"))


@lifecycle_bp.route("/verify-email/<token>", methods=["GET", "POST"], defaults={"txn_id": None})
@lifecycle_bp.route("/login/<txn_id>/verify-email/<token>", methods=["GET", "POST"],
                    endpoint="verify_email_in_login")
def verify_email(token, txn_id):
    link = links.find_link(g.realm, token, links.VERIFY_EMAIL)
    txn = _login_that_asked(txn_id, link)
    registering = link.user.registration_pending
    if registering and txn is None:
        return _confirm_registration_elsewhere(link)
    form = ConfirmForm()
    if form.validate_on_submit():
        if registering:
            user = registration.confirm_registration(link)
            # the browser that registered, with the link from the mailbox: its login continues
            txn.form_variant = "registration"
            authenticate_in_transaction(txn, user, stage_key="password", amr=["pwd"])
            return flow.advance(txn)
        verification.verify_email_address(link)
        db.session.commit()
        if txn is not None and txn.user_id == link.user_id:
            return flow.advance(txn)
        return _email_verified_page(link)
    return _page("verify_email_confirm.html", form=form, email=link.email, action_url=request.path,
                 page_title=_("Verify your email address"))


def _confirm_registration_elsewhere(link):
    """A registration's link opened away from the browser that registered (or after its login
    ended): the password chosen at registration confirms it is the same person."""
    form = ConfirmRegistrationForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            registration.confirm_registration_with_password(link, form.password.data)
        except PasswordLoginLocked as locked:
            form.password.errors = [locked.message]
            status = 429
        except ServiceError as error:
            form.password.errors = [error.message]
        else:
            db.session.commit()
            return _email_verified_page(link)
        db.session.rollback()
    return _page("verify_email_confirm.html", status=status, form=form, email=link.email, action_url=request.path,
                 page_title=_("Verify your email address"))


def _email_verified_page(link):
    return _page("email_verified.html", email=link.email, account_url=url_for("account.home"),
                 page_title=_("Email address verified"))
