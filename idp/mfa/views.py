"""The MFA step of a login: /realms/<realm>/login/<transaction>/mfa/...

- ``/mfa``: where the step starts (the preferred factor, a choice, or setting one up);
- ``/mfa/choose``: the user's factors, or (for a user with none) the factors to set up;
- ``/mfa/<kind>``: verify with a factor (GET begins it: texts a code); ``/mfa/<kind>/resend``;
- ``/mfa/<kind>/setup``: set up a factor during the login (``/setup/resend``, ``?restart=1``);
- ``/mfa/recovery-codes``: the first factor's recovery codes, shown once.

Every page first checks that MFA is the transaction's next stage, so no page of a later stage
can be reached by URL and no MFA page works before the password. The pages call
``idp.mfa.flows`` and the factor's methods, and render the factor's template partials; nothing
here depends on which factor it is."""
from __future__ import annotations

from flask import Response, g, redirect, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField

from ..database import commit_keeping_loaded_state
from ..extensions import db
from ..i18n import _, _l
from ..lifecycle.devices import remember_device
from ..login import flow as login_flow
from ..login.transaction import TransactionInvalid, load_transaction, next_stage, transaction_blueprint
from ..ratelimit import mark_form_success
from ..services.clients import find_client
from ..themes import render_page
from ..web import render_error
from . import flows
from .base import FactorError
from .forms import CodeForm, SavedCodesForm
from .login_state import (
    after_first_verification,
    default_factor,
    enrolling,
    finish_mfa,
    keep_recovery_codes,
    login_challenge,
    login_factors,
    may_use,
    mfa_state,
    pending_recovery_codes,
    record_factor_success,
    set_mfa_state,
)
from .registry import get_factor

mfa_bp = transaction_blueprint("mfa", __name__, "/mfa")


class NotThisStage(Exception):
    pass


class AlreadyVerified(Exception):
    pass


class RememberDeviceForm(FlaskForm):
    """The code page's "Remember this device" box, posted with the factor's own form (whose
    CSRF token covers the post)."""

    class Meta:
        csrf = False

    remember_device = BooleanField(_l("Remember this device"))


def _mfa_transaction(*, before_verification=False):
    """The transaction, if MFA is its next stage. Pages that verify a factor pass
    ``before_verification`` so a verified login goes on to its recovery codes instead."""
    txn = load_transaction(g.realm, g.txn_id)
    stage = next_stage(txn)
    if stage is None or stage.key != "mfa":
        raise NotThisStage(txn)
    if before_verification and mfa_state(txn).get("verified"):
        raise AlreadyVerified()
    return txn


@mfa_bp.errorhandler(AlreadyVerified)
def already_verified(error):
    return redirect(url_for("mfa.recovery_codes"))


@mfa_bp.errorhandler(NotThisStage)
def not_this_stage(error):
    return login_flow.advance(error.args[0])


def _page(template, txn, status=200, **context):
    return render_page(template, realm=txn.realm, client=find_client(txn.realm, txn.client_id) if txn.client_id else None,
                       status=status, **context)


def _locked_page(seconds):
    minutes = max(1, (seconds + 59) // 60)
    return render_error(429, _("Too many attempts"),
                        _("There were too many wrong codes for this account. Try again in %(minutes)s minutes.", minutes=minutes))


def _factor_error_status(error: FactorError) -> int:
    if error.retry_after is not None:
        return 429
    return 400 if error.field else 503


@mfa_bp.get("")
def start():
    txn = _mfa_transaction()
    if pending_recovery_codes(txn):
        return redirect(url_for("mfa.recovery_codes"))
    seconds = flows.locked_for_seconds(txn.user)
    if seconds:
        return _locked_page(seconds)
    factor = default_factor(txn)
    if factor is not None:
        return redirect(url_for("mfa.verify", kind=factor.kind))
    options = flows.enrollable_factors(txn.realm)
    if len(options) == 1:
        return redirect(url_for("mfa.setup", kind=options[0].kind))
    return redirect(url_for("mfa.choose"))


@mfa_bp.get("/choose")
def choose():
    """A user with factors picks one of them; a user with none picks one to set up (different
    words: they have set nothing up yet)."""
    txn = _mfa_transaction()
    if enrolling(txn):
        choices = [(url_for("mfa.setup", kind=f.kind), f.enrol_label, f.enrol_description)
                   for f in flows.enrollable_factors(txn.realm)]
        return _page("mfa_choose.html", txn, choices=choices, recovery_url=None,
                     heading=_("Set up two-factor authentication"),
                     subtitle=_("Choose how you want to confirm it's you each time you log in."),
                     page_title=_("Set up two-factor authentication"))
    factors = login_factors(txn)
    choices = [(url_for("mfa.verify", kind=f.kind), f.choice_label, f.choice_description)
               for f in factors if not f.backup]
    return _page("mfa_choose.html", txn, choices=choices, recovery_url=_backup_url(factors, None),
                 heading=_("Choose how to verify"), subtitle=_("Pick one of the ways you set up to confirm it's you."),
                 page_title=_("Choose how to verify"))


def _backup_url(factors, current):
    """"Use a recovery code", only to a user who holds codes left, and not on its own page."""
    backup = next((f for f in factors if f.backup and f is not current), None)
    return url_for("mfa.verify", kind=backup.kind) if backup is not None else None


def _usable_factor(txn, kind):
    factor = get_factor(kind)
    return factor if may_use(txn, factor) else None


def _is_default(txn, factor) -> bool:
    """The factor the login would pick anyway: nothing to remember (no write on the page the
    password step sends the browser to)."""
    default = default_factor(txn)
    return default is not None and default.kind == factor.kind


def _code_page(txn, factor, form, *, status=200, messages=None, remember=None):
    challenge = login_challenge(txn)
    factors = login_factors(txn)
    others = [f for f in factors if not f.backup and f is not factor]
    remember_days = txn.realm.remember_device_days or None
    if remember is None:
        remember = RememberDeviceForm(formdata=None)
    if remember_days:
        remember.remember_device.label.text = _("Remember this device for %(days)s days", days=remember_days)
    return _page(
        "mfa_code.html", txn, status=status, form=form, factor=factor, challenge_context=factor.context(challenge),
        action_url=url_for("mfa.verify", kind=factor.kind),
        resend_url=url_for("mfa.resend", kind=factor.kind) if factor.resendable else None,
        resend_form=CodeForm(formdata=None, prefix="resend") if factor.resendable else None,
        other_methods_url=url_for("mfa.choose") if others or (factor.backup and factors) else None,
        recovery_url=_backup_url(factors, factor),
        remember_form=remember if remember_days and not factor.backup else None,
        remember_device_days=remember_days,
        flash_messages=messages or [],
        page_title=_("Enter your code"),
    )


@mfa_bp.route("/<kind>", methods=["GET", "POST"])
def verify(kind):
    txn = _mfa_transaction(before_verification=True)
    factor = _usable_factor(txn, kind)
    if factor is None:
        return redirect(url_for("mfa.start"))
    chosen = mfa_state(txn).get("factor")
    if not factor.backup and chosen != factor.kind and not (chosen is None and _is_default(txn, factor)):
        set_mfa_state(txn, factor=factor.kind)
        commit_keeping_loaded_state()
    # the user row was read by this request; a post's own claim of an attempt checks atomically
    seconds = flows.locked_for_seconds(txn.user, reload=False)
    if seconds:
        return _locked_page(seconds)
    challenge = login_challenge(txn)
    form = factor.verify_form()
    if request.method == "GET":
        if not factor.started(challenge):
            try:
                factor.begin(challenge)
            except FactorError as error:
                return _code_page(txn, factor, form, status=_factor_error_status(error), messages=[("error", error.message)])
        return _code_page(txn, factor, form)
    remember = RememberDeviceForm()
    if not form.validate_on_submit():
        return _code_page(txn, factor, form, status=400, remember=remember)
    try:
        authenticator = flows.guarded_verify(factor, challenge, form.data)
    except flows.MfaLocked as locked:
        return _locked_page(locked.seconds)
    except flows.WrongResponse as wrong:
        getattr(form, factor.response_field).errors = [wrong.message]
        return _code_page(txn, factor, form, status=400, remember=remember)
    record_factor_success(txn, factor, authenticator)
    if factor.backup:
        finish_mfa(txn)
        db.session.commit()
        return _page("mfa_recovery_used.html", txn, remaining=factor.describe(authenticator).fields.get("remaining", 0),
                     continue_url=url_for("mfa.continue_login"), page_title=_("Recovery code accepted"))
    response = _after_success(txn)
    if remember.remember_device.data and txn.realm.remember_device_days:
        remember_device(txn.realm, txn.user, response)
        db.session.commit()
    return response


def _after_success(txn):
    """Recovery codes to show, a factor to offer, or on with the login.

    The verification's claim (a TOTP time step, a code spent, the success recorded) commits
    with whatever comes next: the redirect's state, or the finished login (one commit where
    there were two). If finishing the login is refused (another request finished it, the user
    was disabled meanwhile) it commits on its own, without the transaction's changes: the code
    stays used and cannot be replayed in another login."""
    codes = pending_recovery_codes(txn) or after_first_verification(txn)
    if codes:
        commit_keeping_loaded_state()
        return redirect(url_for("mfa.recovery_codes"))
    offered = next((f for f in flows.enrollable_factors(txn.realm) if f.offers_after_login(txn)), None)
    if offered is not None:
        commit_keeping_loaded_state()
        return redirect(url_for("mfa.offer", kind=offered.kind))
    finish_mfa(txn)
    try:
        return login_flow.advance(txn)
    except TransactionInvalid:
        db.session.expire(txn)  # the login did not finish: nothing of it is written
        db.session.commit()
        raise


# --- a factor offered after the second factor ("Create a passkey for faster sign-in") ---------
#
# Part of the MFA step rather than a stage of its own: it is optional, shown once, and only right
# after this login verified a second factor (a stage would have to be placed in every operator's
# ``login.stage_order``). "Seen" is recorded when the login succeeds (``factor_offer_seen``).

def _offered_factor(txn, kind):
    factor = get_factor(kind)
    if factor is None or factor.backup or not mfa_state(txn).get("verified") or not factor.offers_after_login(txn):
        return None
    return factor


def _offer_page(txn, factor, pending, form, *, status=200):
    return _page("mfa_offer.html", txn, status=status, factor=factor, pending=pending, form=form,
                 enrolment=factor.enrolment_context(flows.enrolment_challenge(pending)),
                 action_url=url_for("mfa.offer", kind=factor.kind),
                 dismiss_url=url_for("mfa.offer_dismiss", kind=factor.kind),
                 dismiss_form=CodeForm(formdata=None, prefix="dismiss"), page_title=str(factor.offer_label))


@mfa_bp.route("/<kind>/offer", methods=["GET", "POST"])
def offer(kind):
    from ..login.completion import defer_until_login_succeeds

    txn = _mfa_transaction()
    factor = _offered_factor(txn, kind)
    if factor is None:
        if not mfa_state(txn).get("verified"):
            return redirect(url_for("mfa.start"))
        finish_mfa(txn)
        return login_flow.advance(txn)
    enrolment = mfa_state(txn).get("offer") or {}
    pending = flows.pending_credential(txn.user, enrolment.get("id"), factor.kind)
    if pending is None:
        pending = flows.start_enrolment(factor, txn.user, {})
        set_mfa_state(txn, offer={"kind": factor.kind, "id": pending.id})
        defer_until_login_succeeds(txn, "factor_offer_seen")
        db.session.commit()
    form = factor.enrol_form(pending)
    if request.method == "GET" or not form.validate_on_submit():
        return _offer_page(txn, factor, pending, form, status=200 if request.method == "GET" else 400)
    try:
        flows.complete_enrolment(pending, form.data, by="user")
    except flows.EnrolmentExpired:
        set_mfa_state(txn, offer=None)
        db.session.commit()
        return redirect(url_for("mfa.offer", kind=factor.kind))
    except flows.WrongResponse as wrong:
        getattr(form, factor.response_field).errors = [wrong.message]
        return _offer_page(txn, factor, pending, form, status=400)
    mark_form_success()
    set_mfa_state(txn, offer=None)
    finish_mfa(txn)
    return login_flow.advance(txn)


@mfa_bp.post("/<kind>/offer/dismiss")
def offer_dismiss(kind):
    """"Not now": the login goes on; the offer is not made again once it succeeds."""
    txn = _mfa_transaction()
    form = CodeForm(prefix="dismiss")
    form.code.validators = []
    if mfa_state(txn).get("verified") and form.validate_on_submit():
        set_mfa_state(txn, offer=None)
        finish_mfa(txn)
        return login_flow.advance(txn)
    return redirect(url_for("mfa.offer", kind=kind))


@mfa_bp.post("/<kind>/resend")
def resend(kind):
    txn = _mfa_transaction(before_verification=True)
    factor = _usable_factor(txn, kind)
    if factor is None or not factor.resendable:
        return redirect(url_for("mfa.start"))
    seconds = flows.locked_for_seconds(txn.user)
    if seconds:
        return _locked_page(seconds)
    form = CodeForm(prefix="resend")
    form.code.validators = []
    if not form.validate_on_submit():
        return _code_page(txn, factor, factor.verify_form(formdata=None), status=400,
                          messages=[("error", _("Your form expired. Try again."))])
    challenge = login_challenge(txn)
    try:
        context = factor.begin(challenge, resend=True)
    except FactorError as error:
        return _code_page(txn, factor, factor.verify_form(formdata=None), status=_factor_error_status(error),
                          messages=[("error", error.message)])
    return _code_page(txn, factor, factor.verify_form(formdata=None),
                      messages=[("success", _("We sent a new code to %(destination)s.",
                                              destination=context.get("destination") or ""))])


# --- setting a factor up during the login -----------------------------------------------------

class SetupRefused(Exception):
    pass


@mfa_bp.errorhandler(SetupRefused)
def setup_refused(error):
    return render_error(403, _("This cannot be changed here"), error.args[0])


def _setup_factor(txn, kind):
    """A factor this login may set up: the realm offers it and the user holds no factor yet."""
    factor = get_factor(kind)
    if factor is None or factor.backup or not factor.enabled(txn.realm):
        return None
    refused = factor.self_enrolment_refused(txn.user)
    if refused:
        raise SetupRefused(refused)
    if not enrolling(txn):
        raise SetupRefused(_("You already have a way to verify. To add or change one, log in and change it "
                             "from your account page."))
    return factor


def _pending(txn, factor):
    enrolment = mfa_state(txn).get("enrolment") or {}
    if enrolment.get("kind") != factor.kind:
        return None
    return flows.pending_credential(txn.user, enrolment.get("id"), factor.kind)


def _setup_page(txn, factor, pending, form, *, status=200, messages=None):
    options = flows.enrollable_factors(txn.realm)
    enrolment = factor.enrolment_context(flows.enrolment_challenge(pending)) if pending is not None else {}
    return _page("mfa_setup.html", txn, status=status, factor=factor, pending=pending, form=form, enrolment=enrolment,
                 action_url=url_for("mfa.setup", kind=factor.kind, confirm=1 if pending is not None else None),
                 resend_url=url_for("mfa.setup_resend", kind=factor.kind) if factor.resendable else None,
                 resend_form=CodeForm(formdata=None, prefix="resend") if factor.resendable else None,
                 restart_url=url_for("mfa.setup", kind=factor.kind),
                 cancel_url=url_for("mfa.choose") if len(options) > 1 else None,
                 flash_messages=messages or [], page_title=str(factor.enrol_label))


def _field_for(form, error: FactorError):
    """The form field an enrolment error is about: the one it names, else the first the user typed in."""
    named = getattr(form, error.field, None) if error.field else None
    return named or next(field for field in form if field.name != "csrf_token")


def _begin_setup(txn, factor, fields):
    pending = flows.start_enrolment(factor, txn.user, fields)
    set_mfa_state(txn, enrolment={"kind": factor.kind, "id": pending.id})
    if factor.resendable:
        factor.deliver_enrolment(flows.enrolment_challenge(pending))
    db.session.commit()
    return pending


@mfa_bp.route("/<kind>/setup", methods=["GET", "POST"])
def setup(kind):
    txn = _mfa_transaction(before_verification=True)
    factor = _setup_factor(txn, kind)
    if factor is None:
        return redirect(url_for("mfa.start"))
    seconds = flows.locked_for_seconds(txn.user)
    if seconds:
        return _locked_page(seconds)
    pending = _pending(txn, factor)
    typed = {}
    if factor.enrolment_needs_input and not request.args.get("confirm"):
        typed, pending = (factor.enrolment_input(pending) if pending is not None else {}), None
    if pending is None and request.method == "GET" and not factor.enrolment_needs_input:
        pending = _begin_setup(txn, factor, {})
    form = factor.enrol_form(pending, data=typed) if typed and request.method == "GET" else factor.enrol_form(pending)
    if request.method == "GET":
        if pending is not None and getattr(form, "name", None) is not None:
            form.name.data = pending.name
        return _setup_page(txn, factor, pending, form)
    if not form.validate_on_submit():
        return _setup_page(txn, factor, pending, form, status=400)
    if pending is None:
        try:
            _begin_setup(txn, factor, form.data)
        except FactorError as error:
            db.session.rollback()
            _field_for(form, error).errors = [error.message]
            return _setup_page(txn, factor, None, form, status=400 if error.field or error.retry_after else 503)
        return redirect(url_for("mfa.setup", kind=factor.kind, confirm=1))
    try:
        codes = flows.complete_enrolment(pending, form.data, by="user")
    except flows.EnrolmentExpired:
        db.session.commit()
        return _setup_page(txn, factor, None if factor.enrolment_needs_input else _begin_setup(txn, factor, {}),
                           factor.enrol_form(None if factor.enrolment_needs_input else pending, formdata=None),
                           status=400, messages=[("error", _("Too many wrong codes. Start again."))])
    except flows.WrongResponse as wrong:
        getattr(form, factor.response_field).errors = [wrong.message]
        return _setup_page(txn, factor, pending, form, status=400)
    mark_form_success()
    keep_recovery_codes(txn, codes)
    record_factor_success(txn, factor, pending)
    return _after_success(txn)


@mfa_bp.post("/<kind>/setup/resend")
def setup_resend(kind):
    txn = _mfa_transaction(before_verification=True)
    factor = _setup_factor(txn, kind)
    pending = _pending(txn, factor) if factor is not None else None
    if pending is None:
        return redirect(url_for("mfa.start"))
    form = CodeForm(prefix="resend")
    form.code.validators = []
    if not form.validate_on_submit():
        return _setup_page(txn, factor, pending, factor.enrol_form(pending, formdata=None), status=400,
                           messages=[("error", _("Your form expired. Try again."))])
    challenge = flows.enrolment_challenge(pending)
    try:
        factor.deliver_enrolment(challenge)
    except FactorError as error:
        return _setup_page(txn, factor, pending, factor.enrol_form(pending, formdata=None),
                           status=_factor_error_status(error), messages=[("error", error.message)])
    destination = factor.enrolment_context(challenge).get("destination") or ""
    return _setup_page(txn, factor, pending, factor.enrol_form(pending, formdata=None),
                       messages=[("success", _("We sent a new code to %(destination)s.", destination=destination))])


# --- recovery codes, shown once ---------------------------------------------------------------

@mfa_bp.route("/recovery-codes", methods=["GET", "POST"])
def recovery_codes():
    txn = _mfa_transaction()
    codes = pending_recovery_codes(txn)
    if not codes:
        return redirect(url_for("mfa.start"))
    form = SavedCodesForm()
    if form.validate_on_submit():
        finish_mfa(txn)
        return login_flow.advance(txn)
    return _page("recovery_codes.html", txn, status=400 if form.errors else 200, form=form, codes=codes,
                 download_url=url_for("mfa.recovery_codes_download"), action_url=url_for("mfa.recovery_codes"),
                 page_title=_("Save your recovery codes"))


@mfa_bp.get("/recovery-codes.txt")
def recovery_codes_download():
    txn = _mfa_transaction()
    codes = pending_recovery_codes(txn)
    if not codes:
        return redirect(url_for("mfa.start"))
    return recovery_codes_file(txn.realm, txn.user, codes)


def recovery_codes_file(realm, user, codes) -> Response:
    text = (_("Recovery codes for %(email)s at %(realm)s", email=user.email, realm=realm.display_name) + "\n"
            + _("Each code can be used once, when you cannot use your phone or authenticator app.") + "\n\n"
            + "\n".join(codes) + "\n")
    response = Response(text, mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="{realm.name}-recovery-codes.txt"'
    return response


@mfa_bp.get("/continue")
def continue_login():
    txn = load_transaction(g.realm, g.txn_id)
    return login_flow.advance(txn)

