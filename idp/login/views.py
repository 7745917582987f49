"""Hosted login pages: /realms/<realm>/login/<transaction>/..."""
from __future__ import annotations

from flask import current_app, g, request, url_for

from ..extensions import db
from ..i18n import _
from ..lifecycle import registration
from ..lifecycle.links import LIFETIMES, VERIFY_EMAIL, mask_email
from ..ratelimit import mark_form_success
from ..services import ServiceError
from ..services.audit import record_event
from ..services.clients import find_client
from ..services.password_attempts import PasswordLoginLocked
from ..services.passwords import password_hint
from ..services.users import authenticate_password
from ..themes import render_page
from ..web import render_error
from . import flow
from .completion import after_password
from .forms import LoginForm, RegistrationForm
from .transaction import (
    authenticate_in_transaction,
    load_transaction,
    transaction_blueprint,
)

login_bp = transaction_blueprint("login", __name__)


def register_sign_in_option(app, provide) -> None:
    """Another way to sign in on the login page (a passkey): ``provide(txn)`` returns None or an
    object with ``template`` (included below the password form, with it as ``option``) and
    ``username_autocomplete`` (a token added to the email field's ``autocomplete``)."""
    app.extensions.setdefault("idp.sign_in_options", []).append(provide)


def _sign_in_options(txn) -> list:
    return [option for provide in current_app.extensions.get("idp.sign_in_options", [])
            if (option := provide(txn)) is not None]


def _page_context(txn):
    return {"realm": txn.realm, "client": find_client(txn.realm, txn.client_id)}


def _field_error(form, error: ServiceError):
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        form.form_errors.append(error.message)


@login_bp.route("", methods=["GET", "POST"])
def login():
    txn = load_transaction(g.realm, g.txn_id)
    if txn.user_id is not None and "password" not in (txn.completed_stages or []):
        return flow.advance(txn)
    form = LoginForm()
    state = txn.stage_state or {}
    if request.method == "GET":
        hint = request.args.get("email") or txn.authorization_request.get("login_hint")
        if hint:
            form.email.data = hint[:320]
    locked = None
    if form.validate_on_submit():
        try:
            user = authenticate_password(g.realm, form.email.data, form.password.data)
        except PasswordLoginLocked as error:
            user, locked = None, error
        if user is None:
            record_event("login.failed", realm=g.realm, email=form.email.data[:320],
                         reason="locked" if locked else "bad_credentials")
            db.session.commit()
            form.form_errors.append(locked.message if locked else _("Incorrect email or password."))
        else:
            mark_form_success()
            txn.form_variant = "login"
            authenticate_in_transaction(txn, user, stage_key="password", amr=["pwd"])
            after_password(txn, user)
            record_event("login.password_ok", realm=g.realm, user=user, client_id=txn.client_id)
            # the password proved; nothing of the account changed (a rehash is the same password)
            return flow.advance(txn, progress_only=True)
    register_url = url_for("login.register") if g.realm.registration_enabled else None
    messages = [("error", state["login_message"])] if state.get("login_message") else []
    options = _sign_in_options(txn)
    return render_page(
        "login.html",
        **_page_context(txn),
        form=form,
        action_url=url_for("login.login"),
        register_url=register_url,
        forgot_password_url=url_for("lifecycle.forgot_password", txn_id=txn.id),
        providers=_provider_buttons(txn),
        sign_in_options=options,
        username_autocomplete=" ".join(["username", *(o.username_autocomplete for o in options
                                                       if getattr(o, "username_autocomplete", None))]),
        flash_messages=messages,
        page_title=_("Log in"),
        status=429 if locked else 400 if form.errors or form.form_errors else 200,
    )


def _provider_buttons(txn):
    """The realm's enabled upstream providers as buttons. Every login page shows them, so their
    names come from the per-process lookup cache (``identity_providers`` is a watched table)."""
    from types import SimpleNamespace

    from ..services.lookup_cache import cached
    from ..social.providers import list_providers

    def load():
        return tuple((p.name, p.kind, p.display_name) for p in list_providers(txn.realm, enabled_only=True))

    return [SimpleNamespace(name=name, kind=kind, display_name=display_name,
                            start_url=url_for("social.start", txn_id=txn.id, provider_name=name))
            for name, kind, display_name in cached(("provider_buttons", txn.realm.id), load)]


@login_bp.route("/register", methods=["GET", "POST"])
def register():
    txn = load_transaction(g.realm, g.txn_id)
    if not g.realm.registration_enabled:
        return render_error(404, _("Registration is closed"), _("This service does not accept new accounts here."))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            # the same answer whether or not the address has an account (lifecycle.registration)
            email = registration.register(g.realm, email=form.email.data, password=form.password.data,
                                          name=form.name.data, transaction_id=txn.id)
        except ServiceError as error:
            _field_error(form, error)
        else:
            txn.form_variant = "registration"
            db.session.commit()
            return render_page(
                "register_sent.html", **_page_context(txn), masked_email=mask_email(email),
                login_url=url_for("login.login"), page_title=_("Check your inbox"),
                lifetime_hours=int(LIFETIMES[VERIFY_EMAIL].total_seconds() // 3600),
            )
    return render_page(
        "register.html",
        **_page_context(txn),
        form=form,
        action_url=url_for("login.register"),
        login_url=url_for("login.login"),
        password_hint=password_hint(g.realm),
        page_title=_("Create account"),
        status=400 if form.errors or form.form_errors else 200,
    )
