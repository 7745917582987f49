"""The MFA step of a login: /realms/<realm>/login/<transaction>/mfa/...

Every page first checks that MFA is the transaction's next stage, so no page of a later stage
can be reached by URL and no MFA page works before the password."""
from __future__ import annotations

from flask import Response, g, redirect, request, url_for

from ..database import commit_keeping_loaded_state
from ..extensions import db
from ..i18n import _
from ..lifecycle.devices import remember_device
from ..login import flow as login_flow
from ..login.transaction import load_transaction, next_stage, transaction_blueprint
from ..services import ServiceError
from ..services.clients import find_client
from ..services.phones import mask_phone, parse_phone
from ..themes import render_page
from ..web import render_error
from . import attempts
from .base import FactorError, enrollable_factors, get_factor, usable_factors
from .flow import (
    after_first_verification,
    challenge_for,
    confirm_phone,
    default_factor,
    finish_mfa,
    may_use,
    mfa_state,
    pending_recovery_codes,
    record_factor_success,
    set_mfa_state,
)
from .forms import CodeForm, LoginCodeForm, PhoneForm, RecoveryCodeForm, SavedCodesForm, TotpSetupForm
from .qr import build_totp_svg
from .recovery import recovery_codes_remaining
from .sms import code_exhausted, latest_challenge, send_sms_code
from .totp import activate_totp, begin_totp_enrolment, device_secret, provisioning_uri, secret_for_display

mfa_bp = transaction_blueprint("mfa", __name__, "/mfa")


class NotThisStage(Exception):
    pass


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


class AlreadyVerified(Exception):
    pass


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


def _message(kind, text):
    return [(kind, text)]


@mfa_bp.get("")
def start():
    txn = _mfa_transaction()
    if pending_recovery_codes(txn):
        return redirect(url_for("mfa.recovery_codes"))
    seconds = attempts.locked_for_seconds(txn.user)
    if seconds:
        return _locked_page(seconds)
    factor = default_factor(txn)
    if factor is not None:
        return redirect(url_for("mfa.code", factor=factor.kind))
    options = enrollable_factors(txn.realm)
    set_mfa_state(txn, enrolling=True)
    db.session.commit()
    if len(options) > 1:
        return redirect(url_for("mfa.choose"))
    return redirect(url_for("mfa.phone" if options[0].kind == "sms" else "mfa.totp_setup"))


@mfa_bp.get("/choose")
def choose():
    txn = _mfa_transaction()
    state = mfa_state(txn)
    if state.get("enrolling"):
        choices = [(url_for("mfa.phone" if f.kind == "sms" else "mfa.totp_setup"), f.choice_label,
                    f.choice_description) for f in enrollable_factors(txn.realm)]
    else:
        choices = [(url_for("mfa.code", factor=f.kind), f.choice_label, f.choice_description)
                   for f in usable_factors(txn.realm, txn.user)]
    recovery_url = url_for("mfa.recovery") if get_factor("recovery").enrolled(txn.user) else None
    return _page("mfa_choose.html", txn, choices=choices, recovery_url=recovery_url, page_title=_("Choose how to verify"))


def _may_type_phone(txn) -> tuple[bool, str | None]:
    """Whether this login may set the phone to verify, and why not. Hardening over the seed: a
    phone set by an administrator, or a verified phone, cannot be swapped during login."""
    user, state = txn.user, mfa_state(txn)
    if user.phone and user.phone_set_by_admin:
        return False, _("This number was set by your administrator. Contact them to change it.")
    if user.phone and user.phone_verified:
        return False, _("To change a verified phone number, log in and change it from your account page.")
    if not state.get("enrolling") or not txn.realm.sms_enabled:
        return False, _("A phone number cannot be added here.")
    return True, None


@mfa_bp.route("/phone", methods=["GET", "POST"])
def phone():
    txn = _mfa_transaction(before_verification=True)
    allowed, reason = _may_type_phone(txn)
    if not allowed:
        return render_error(403, _("The phone number cannot be changed here"), reason)
    form = PhoneForm()
    if request.method == "GET" and mfa_state(txn).get("phone"):
        form.phone.data = mfa_state(txn)["phone"]
    if form.validate_on_submit():
        try:
            number = parse_phone(form.phone.data, allowed_countries=txn.realm.sms_allowed_countries or None)
        except ServiceError as error:
            form.phone.errors = [error.message]
        else:
            set_mfa_state(txn, phone=number, phone_typed=True, factor="sms")
            db.session.commit()
            try:
                send_sms_code(challenge_for(txn), purpose="enrol")
            except FactorError as error:
                form.phone.errors = [error.message]
            else:
                return redirect(url_for("mfa.code", factor="sms"))
    choose_url = url_for("mfa.totp_setup") if txn.realm.totp_enabled else None
    return _page("mfa_phone.html", txn, status=400 if form.errors else 200, form=form,
                 action_url=url_for("mfa.phone"), choose_url=choose_url, page_title=_("Enter your phone number"))


def _selected_factor(txn):
    """The factor named in the URL, if this user may use it in this login."""
    kind = request.args.get("factor") or mfa_state(txn).get("factor")
    factor = get_factor(kind) if kind else None
    return factor if may_use(txn, factor) else None


def _code_page(txn, factor, form, *, status=200, messages=None):
    challenge = challenge_for(txn)
    state = mfa_state(txn)
    others = [f for f in usable_factors(txn.realm, txn.user) if f.kind != factor.kind]
    change_phone_url = None
    contact_admin = False
    if factor.kind == "sms":
        if state.get("phone_typed"):
            change_phone_url = url_for("mfa.phone")
        elif txn.user.phone_set_by_admin:
            contact_admin = True
    context = factor.page_context(challenge)
    remember_days = txn.realm.remember_device_days or None
    if remember_days and hasattr(form, "remember_device"):
        form.remember_device.label.text = _("Remember this device for %(days)s days", days=remember_days)
    return _page(
        "mfa_code.html", txn, status=status, form=form, factor=factor.kind,
        action_url=url_for("mfa.code", factor=factor.kind),
        masked_phone=context.get("masked_phone"),
        resend_url=url_for("mfa.resend") if factor.kind == "sms" else None,
        resend_form=CodeForm(formdata=None, prefix="resend") if factor.kind == "sms" else None,
        resend_wait_seconds=context.get("resend_wait_seconds", 0),
        change_phone_url=change_phone_url, contact_admin=contact_admin,
        other_methods_url=url_for("mfa.choose") if others else None,
        recovery_url=url_for("mfa.recovery"),  # offered on every MFA page (issue 3's wording contract)
        remember_device_days=remember_days,
        flash_messages=messages or [],
        page_title=_("Enter your code"),
    )


@mfa_bp.route("/code", methods=["GET", "POST"])
def code():
    txn = _mfa_transaction(before_verification=True)
    factor = _selected_factor(txn)
    if factor is None:
        return redirect(url_for("mfa.start"))
    if mfa_state(txn).get("factor") != factor.kind:
        set_mfa_state(txn, factor=factor.kind)
        commit_keeping_loaded_state()
    seconds = attempts.locked_for_seconds(txn.user)
    if seconds:
        return _locked_page(seconds)
    challenge = challenge_for(txn)
    form = LoginCodeForm()
    if request.method == "GET":
        if factor.kind == "sms" and latest_challenge(challenge) is None:
            try:
                factor.begin(challenge)
            except FactorError as error:
                return _code_page(txn, factor, form, status=503 if error.retry_after is None else 429,
                                  messages=_message("error", error.message))
        return _code_page(txn, factor, form)
    if not form.validate_on_submit():
        return _code_page(txn, factor, form, status=400)
    seconds = attempts.claim_attempt(txn.user)
    if seconds:
        return _locked_page(seconds)
    if factor.verify(challenge, form.code.data):
        if factor.kind == "sms":
            confirm_phone(txn)
        record_factor_success(txn, factor)
        response = _after_success(txn)
        if form.remember_device.data:
            remember_device(txn.realm, txn.user, response)
            db.session.commit()
        return response
    attempts.record_failure(txn.user, factor=factor.kind)
    seconds = attempts.locked_for_seconds(txn.user)
    if seconds:
        return _locked_page(seconds)
    if factor.kind == "sms" and code_exhausted(challenge):
        form.code.errors = [_("This code can no longer be used. Request a new code.")]
    else:
        form.code.errors = [_("That code is not right. Check it and try again.")]
    return _code_page(txn, factor, form, status=400)


def _after_success(txn):
    codes = after_first_verification(txn)
    commit_keeping_loaded_state()
    if codes:
        return redirect(url_for("mfa.recovery_codes"))
    finish_mfa(txn)
    return login_flow.advance(txn)


@mfa_bp.post("/resend")
def resend():
    txn = _mfa_transaction(before_verification=True)
    factor = _selected_factor(txn)
    if factor is None or factor.kind != "sms":
        return redirect(url_for("mfa.start"))
    seconds = attempts.locked_for_seconds(txn.user)
    if seconds:
        return _locked_page(seconds)
    form = CodeForm(prefix="resend")
    form.code.validators = []
    if not form.validate_on_submit():
        return _code_page(txn, factor, LoginCodeForm(formdata=None), status=400,
                          messages=_message("error", _("Your form expired. Try again.")))
    try:
        send_sms_code(challenge_for(txn))
    except FactorError as error:
        return _code_page(txn, factor, LoginCodeForm(formdata=None), status=503 if error.retry_after is None else 429,
                          messages=_message("error", error.message))
    return _code_page(txn, factor, LoginCodeForm(formdata=None),
                      messages=_message("success", _("We sent a new code to %(phone)s.", phone=mask_phone(challenge_for(txn).phone))))


@mfa_bp.route("/recovery", methods=["GET", "POST"])
def recovery():
    txn = _mfa_transaction(before_verification=True)
    seconds = attempts.locked_for_seconds(txn.user)
    if seconds:
        return _locked_page(seconds)
    factor = get_factor("recovery")
    form = RecoveryCodeForm()
    if form.validate_on_submit():
        seconds = attempts.claim_attempt(txn.user)
        if seconds:
            return _locked_page(seconds)
        if factor.verify(challenge_for(txn), form.code.data):
            record_factor_success(txn, factor)
            finish_mfa(txn)
            db.session.commit()
            remaining = recovery_codes_remaining(txn.user)
            return _page("mfa_recovery_used.html", txn, remaining=remaining,
                         continue_url=url_for("mfa.continue_login"), page_title=_("Recovery code accepted"))
        attempts.record_failure(txn.user, factor="recovery")
        seconds = attempts.locked_for_seconds(txn.user)
        if seconds:
            return _locked_page(seconds)
        form.code.errors = [_("That recovery code is not valid or was already used.")]
    return _page("mfa_recovery.html", txn, status=400 if form.errors else 200, form=form,
                 action_url=url_for("mfa.recovery"), back_url=url_for("mfa.start"), page_title=_("Use a recovery code"))


@mfa_bp.route("/totp", methods=["GET", "POST"])
def totp_setup():
    txn = _mfa_transaction(before_verification=True)
    state = mfa_state(txn)
    if not state.get("enrolling") or not txn.realm.totp_enabled:
        return redirect(url_for("mfa.start"))
    seconds = attempts.locked_for_seconds(txn.user)
    if seconds:
        return _locked_page(seconds)
    from ..models import Authenticator

    device = db.session.get(Authenticator, state["totp_device_id"]) if state.get("totp_device_id") else None
    if device is None or device.user_id != txn.user.id or device.state != "pending":
        device, _secret = begin_totp_enrolment(txn.user)
        set_mfa_state(txn, totp_device_id=device.id)
        db.session.commit()
    form = TotpSetupForm()
    if form.validate_on_submit():
        seconds = attempts.claim_attempt(txn.user)
        if seconds:
            return _locked_page(seconds)
        if activate_totp(txn.user, device, form.code.data, name=form.name.data):
            set_mfa_state(txn, factor="totp")
            record_factor_success(txn, get_factor("totp"))
            return _after_success(txn)
        attempts.record_failure(txn.user, factor="totp")
        seconds = attempts.locked_for_seconds(txn.user)
        if seconds:
            return _locked_page(seconds)
        form.code.errors = [_("That code is not right. Check the time on your phone and try again.")]
    elif request.method == "GET":
        form.name.data = device.name
    secret = device_secret(device)
    choose_url = url_for("mfa.choose") if len(enrollable_factors(txn.realm)) > 1 else None
    return _page("totp_setup.html", txn, status=400 if form.errors else 200, form=form,
                 action_url=url_for("mfa.totp_setup"),
                 qr_svg=build_totp_svg(provisioning_uri(txn.realm, txn.user, secret)),
                 secret_display=secret_for_display(secret), cancel_url=choose_url,
                 page_title=_("Set up authenticator app"))


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
