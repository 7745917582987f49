"""The organization pages: the login stage's page (pick an organization, or be told the login
cannot go on) and the invitation link's page."""
from __future__ import annotations

from flask import Blueprint, g, redirect, request, url_for

from ..extensions import db
from ..i18n import _
from ..lifecycle.links import mask_email
from ..login import flow
from ..login.forms import ConfirmForm
from ..login.sessions import current_browser_session
from ..login.stages import pending_prompt, update_state_of
from ..login.transaction import complete_stage, load_transaction, transaction_blueprint
from ..ratelimit import limit_form_posts
from ..services import ServiceError
from ..services import organizations as organization_service
from ..services.clients import find_client
from ..services.passwords import password_hint
from ..services.users import set_password
from ..themes import render_page
from ..web import add_realm_name, load_realm, render_error
from .stage import KEY

organization_stage_bp = transaction_blueprint("organization_stage", __name__, "/organization")

organization_invitations_bp = Blueprint("organization_invitations", __name__,
                                        url_prefix="/realms/<realm_name>/organization-invitations")
organization_invitations_bp.url_value_preprocessor(load_realm)
organization_invitations_bp.url_defaults(add_realm_name)
limit_form_posts(organization_invitations_bp)


@organization_stage_bp.route("", methods=["GET", "POST"])
def choose():
    """The picker (several organizations, none chosen), or the refusal (none fits)."""
    txn = load_transaction(g.realm, g.txn_id)
    pending = pending_prompt(txn)
    if pending is None or pending[0].key != KEY:
        return flow.advance(txn)
    client = find_client(txn.realm, txn.client_id)
    form = ConfirmForm()
    refused = pending[1].reason == "not_a_member"
    if form.validate_on_submit():
        if refused or request.form.get("decision") == "cancel":
            return flow.deny(txn, "access_denied")
        chosen = request.form.get("organization") or ""
        open_to_user = {o.id: o for o in organization_service.organizations_open_to(txn.user)}
        if chosen in open_to_user:
            update_state_of(txn, KEY, organization_id=chosen)
            complete_stage(txn, KEY)
            return flow.advance(txn)
        form.form_errors.append(_("Choose one of your organizations."))
    if refused:
        requested = (txn.authorization_request or {}).get("organization")
        return render_page("organization_refused.html", realm=txn.realm, client=client, form=form,
                           email=txn.user.email, requested=requested, action_url=url_for(".choose"),
                           status=403, page_title=_("You cannot sign in here"))
    organizations = organization_service.organizations_open_to(txn.user)
    return render_page("organization_picker.html", realm=txn.realm, client=client, form=form,
                       organizations=organizations, action_url=url_for(".choose"),
                       status=400 if form.form_errors else 200, page_title=_("Choose an organization"))


@organization_invitations_bp.errorhandler(organization_service.InvitationInvalid)
def invitation_invalid(error):
    return render_error(400, _("This invitation cannot be used"), error.message)


@organization_invitations_bp.route("/<token>", methods=["GET", "POST"])
def accept(token):
    """The invitation link. The invitee first sets a password if their account is new (the
    link proves the address), then logs in as the invited account (with the second factor the
    realm asks for), and only then joins, with one more click on this page."""
    invitation = organization_service.find_invitation(g.realm, token)
    user = invitation.user
    organization = invitation.organization
    form = ConfirmForm()
    if user.password_hash is None:
        return _choose_password(invitation)
    browser_session = current_browser_session(g.realm)
    signed_in_as_invitee = browser_session is not None and browser_session.user_id == user.id
    if request.method == "POST" and form.validate_on_submit():
        if not signed_in_as_invitee:
            return _login_as(user)
        try:
            organization_service.accept_invitation(invitation, user)
        except ServiceError as error:
            db.session.rollback()
            return render_error(400, _("This invitation cannot be used"), error.message)
        db.session.commit()
        return render_page("organization_joined.html", realm=g.realm, organization=organization,
                           account_url=url_for("account.home"), page_title=_("Welcome to %(name)s",
                                                                              name=organization.display_name))
    other_account = browser_session.user.email if browser_session is not None and not signed_in_as_invitee else None
    return render_page("organization_invitation.html", realm=g.realm, organization=organization, form=form,
                       role=invitation.role, email=mask_email(user.email), other_account=other_account,
                       signed_in=signed_in_as_invitee, action_url=request.path,
                       page_title=_("Join %(name)s", name=organization.display_name))


def _login_as(user):
    return flow.begin_login(g.realm, None, {"login_hint": user.email}, browser_session=None,
                            return_to=request.path)


def _choose_password(invitation):
    """A new account: choose its password (this proves the address, as the account invitation
    does), then log in to join."""
    from ..lifecycle.forms import NewPasswordForm
    from ..lifecycle.signals import address_proven

    user = invitation.user
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            set_password(user, form.password.data, reason="organization_invitation")
        except ServiceError as error:
            db.session.rollback()
            form.password.errors = [error.message]
        else:
            user.email_verified = True
            user.registration_pending_since = None
            address_proven.send(user, reason="organization_invitation")
            db.session.commit()
            return _login_as(user)
    return render_page("organization_invitation_password.html", realm=g.realm, organization=invitation.organization,
                       form=form, email=user.email, action_url=request.path, password_hint=password_hint(g.realm),
                       status=400 if form.errors else 200, page_title=_("Choose your password"))
