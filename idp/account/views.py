"""/realms/<realm>/account: reached with the browser session.

Changes to how the account logs in (factors, phone, recovery codes, the MFA switch, linked
accounts) need a *recent* proof (``mfa.step_up_window``, default 10 minutes): our own second
factor verified in this session that recently when the user holds one the realm can challenge,
else a password (or upstream) login that recent. Otherwise a step-up login starts and comes back
here. Work in progress (a phone being verified, a pending authenticator, recovery codes to show
once) is kept server-side with the browser session (``BrowserSession.pending``), so it is bound
to this user, session and realm and ends at logout."""
from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, g, redirect, request, url_for

from ..extensions import db
from ..i18n import gettext
from ..lifecycle.devices import current_device, describe_browser, forget_all_devices, forget_device, remembered_devices
from ..login import flow as login_flow
from ..login.forms import ConfirmForm
from ..login.sessions import current_browser_session
from ..consent.views import SCOPE_DESCRIPTIONS
from ..mfa import attempts
from ..mfa.base import Challenge, FactorError, usable_factors
from ..mfa.forms import CodeForm, DeviceNameForm, PhoneForm, SavedCodesForm, TotpSetupForm
from ..mfa.qr import build_totp_svg
from ..mfa.recovery import generate_recovery_codes, has_recovery_codes, recovery_codes_remaining
from ..mfa.sms import resend_wait_seconds, send_sms_code, verify_sms_code
from ..mfa.totp import (
    activate_totp,
    active_devices,
    begin_totp_enrolment,
    device_secret,
    provisioning_uri,
    remove_device,
    rename_device,
    secret_for_display,
)
from ..models import Authenticator
from ..security import decrypt, encrypt
from ..services import ServiceError
from ..services.audit import record_event
from ..services.consents import list_consents, revoke_consent
from ..services.phones import mask_phone, parse_phone
from ..social.linking import identities_of, unlink_identity
from ..themes import render_page
from ..ratelimit import limit_form_posts
from ..web import add_realm_name, load_realm, render_error

account_bp = Blueprint("account", __name__, url_prefix="/realms/<realm_name>/account")
account_bp.url_value_preprocessor(load_realm)
account_bp.url_defaults(add_realm_name)
limit_form_posts(account_bp)


class LoginNeeded(Exception):
    """Raised with the response that starts the (step-up) login."""


@account_bp.errorhandler(LoginNeeded)
def login_needed(error):
    return error.args[0]


def _return_to() -> str:
    return request.path if request.method == "GET" else url_for("account.home")


def current_user(*, recent_proof=False):
    """The session and its user. ``recent_proof`` (a bool, or a predicate on the user) asks for
    the recent proof of the module docstring; without it a step-up login is started."""
    browser_session = current_browser_session(g.realm)
    if browser_session is None:
        raise LoginNeeded(login_flow.begin_login(g.realm, None, {}, browser_session=None, return_to=_return_to()))
    user = browser_session.user
    needed = recent_proof(user) if callable(recent_proof) else recent_proof
    if needed and not recently_proven(browser_session, user):
        if _can_challenge(user):
            raise LoginNeeded(login_flow.begin_login(g.realm, None, {}, browser_session=browser_session,
                                                     return_to=_return_to(), step_up_mfa=True))
        raise LoginNeeded(login_flow.begin_login(g.realm, None, {"login_hint": user.email}, browser_session=None,
                                                 return_to=_return_to()))
    return browser_session, user


def step_up_window() -> int:
    return current_app.extensions["idp.settings"].mfa.step_up_window


def recently_proven(browser_session, user) -> bool:
    """Our second factor within the window when the user has one we can challenge; else a
    login within the window."""
    now = time.time()
    if _can_challenge(user):
        return bool(browser_session.mfa_at) and now - browser_session.mfa_at <= step_up_window()
    return now - (browser_session.auth_time or 0) <= step_up_window()


def _can_challenge(user) -> bool:
    return g.realm.mfa_enabled and bool(usable_factors(g.realm, user))


def _challenge(browser_session, user, phone=None) -> Challenge:
    return Challenge(realm=g.realm, user=user, binding=f"account:{browser_session.sid}", phone=phone)


def _page(template, status=200, **context):
    return render_page(template, realm=g.realm, status=status, **context)


@account_bp.get("")
def home():
    browser_session, user = current_user()
    devices = active_devices(user)
    for device in devices:
        device.rename_url = url_for("account.rename_device_view", device_id=device.id)
        device.remove_url = url_for("account.remove_device_view", device_id=device.id)
    user.phone_masked = mask_phone(user.phone)
    identities = identities_of(user)
    for identity in identities:
        identity.unlink_url = url_for("account.unlink_identity_view", identity_id=identity.id)
    realm = g.realm
    toggle = ConfirmForm() if realm.users_may_toggle_mfa and not realm.mfa_required else None
    remembered = remembered_devices(user)
    this_browser = current_device(realm, user)
    for device in remembered:
        device.browser = describe_browser(device.user_agent)
        device.is_this_browser = this_browser is not None and this_browser.id == device.id
        device.forget_url = url_for("account.forget_remembered_device", device_id=device.id)
    allowed_apps = [_allowed_app(consent, client) for consent, client in list_consents(user)]
    return _page(
        "account.html", user=user, phone_verified=user.phone_verified,
        change_phone_url=url_for("account.phone") if realm.sms_enabled and not user.phone_set_by_admin else None,
        authenticators=devices,
        rename_forms={d.id: DeviceNameForm(formdata=None, prefix=f"d{d.id}", name=d.name) for d in devices},
        remove_forms={d.id: ConfirmForm(formdata=None, prefix=f"r{d.id}") for d in devices},
        totp_setup_url=url_for("account.totp_setup") if realm.totp_enabled else None,
        recovery_remaining=recovery_codes_remaining(user),
        regenerate_form=ConfirmForm(formdata=None, prefix="regen"),
        regenerate_url=url_for("account.regenerate_recovery_codes"),
        mfa_toggle_form=toggle, mfa_toggle_url=url_for("account.toggle_mfa"),
        identities=identities,
        unlink_forms={i.id: ConfirmForm(formdata=None, prefix=f"u{i.id}") for i in identities},
        remembered_devices=remembered, remember_device_days=realm.remember_device_days,
        forget_forms={d.id: ConfirmForm(formdata=None, prefix=f"f{d.id}") for d in remembered},
        forget_all_form=ConfirmForm(formdata=None, prefix="forget-all"),
        forget_all_url=url_for("account.forget_all_remembered_devices"),
        allowed_apps=allowed_apps,
        remove_access_forms={app.consent_id: ConfirmForm(formdata=None, prefix=f"c{app.consent_id}")
                             for app in allowed_apps},
        logout_url=url_for("oidc.logout"),
        flash_messages=_take_flash(browser_session),
        page_title=gettext("Your account"),
    )


@dataclass(frozen=True)
class AllowedApp:
    consent_id: int
    name: str
    scopes: list[str]
    granted_at: dt.datetime
    remove_url: str


def _allowed_app(consent, client) -> AllowedApp:
    known = list(SCOPE_DESCRIPTIONS)
    scopes = sorted(consent.scopes or [], key=lambda s: (known.index(s) if s in known else len(known), s))
    return AllowedApp(
        consent_id=consent.id, name=client.name,
        scopes=[str(SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in scopes],
        granted_at=consent.granted_at,
        remove_url=url_for("account.remove_app_access", consent_id=consent.id),
    )


def _flash(browser_session, kind, message):
    _set_pending(browser_session, flash=[kind, message])


def _take_flash(browser_session):
    value = _pending(browser_session).get("flash")
    if not value:
        return []
    _set_pending(browser_session, flash=None)
    db.session.commit()
    return [tuple(value)]


def _pending(browser_session) -> dict:
    return dict(browser_session.pending or {})


def _set_pending(browser_session, **values) -> None:
    pending = _pending(browser_session)
    for key, value in values.items():
        if value is None:
            pending.pop(key, None)
        else:
            pending[key] = value
    browser_session.pending = pending or None


def _first_factor_added(browser_session, user):
    """A user's first factor turns MFA on for them and, once, yields recovery codes to show."""
    user.mfa_enabled = True
    if not has_recovery_codes(user):
        _show_codes(browser_session, generate_recovery_codes(user))
        return True
    return False


def _show_codes(browser_session, codes):
    _set_pending(browser_session, recovery_codes=encrypt(json.dumps(codes)))


def _pending_codes(browser_session):
    blob = _pending(browser_session).get("recovery_codes")
    return json.loads(decrypt(blob)) if blob else None


@account_bp.route("/phone", methods=["GET", "POST"])
def phone():
    browser_session, user = current_user(recent_proof=True)
    if not g.realm.sms_enabled or user.phone_set_by_admin:
        return render_error(403, gettext("The phone number cannot be changed here"),
                            gettext("Your phone number is managed by your administrator."))
    form = PhoneForm()
    if form.validate_on_submit():
        try:
            number = parse_phone(form.phone.data, allowed_countries=g.realm.sms_allowed_countries or None)
            send_sms_code(_challenge(browser_session, user, number), purpose="verify_phone")
        except (ServiceError, FactorError) as error:
            form.phone.errors = [error.message]
        else:
            _set_pending(browser_session, phone=encrypt(number))
            db.session.commit()
            return redirect(url_for("account.verify_phone"))
    return _page("mfa_phone.html", status=400 if form.errors else 200, form=form, action_url=url_for("account.phone"),
                 choose_url=None, page_title=gettext("Enter your phone number"))


def _locked_page():
    return render_error(429, gettext("Too many attempts"), gettext("There were too many wrong codes. Try again later."))


@account_bp.route("/phone/verify", methods=["GET", "POST"])
def verify_phone():
    browser_session, user = current_user(recent_proof=True)
    blob = _pending(browser_session).get("phone")
    if not blob:
        return redirect(url_for("account.phone"))
    number = decrypt(blob)
    challenge = _challenge(browser_session, user, number)
    form = CodeForm()
    if attempts.locked_for_seconds(user):
        return _locked_page()
    if form.validate_on_submit():
        if attempts.claim_attempt(user):
            return _locked_page()
        if verify_sms_code(challenge, form.code.data):
            attempts.record_success(user, factor="sms")
            previous = user.phone
            user.phone, user.phone_verified, user.phone_set_by_admin = number, True, False
            record_event("mfa.phone_changed", realm=g.realm, user=user, by="user", had_phone=bool(previous))
            _set_pending(browser_session, phone=None)
            first = _first_factor_added(browser_session, user)
            if not first:
                _flash(browser_session, "success", gettext("Your phone number was verified."))
            db.session.commit()
            if first:
                return redirect(url_for("account.new_recovery_codes"))
            return redirect(url_for("account.home"))
        attempts.record_failure(user, factor="sms")
        form.code.errors = [gettext("That code is not right. Check it and try again.")]
    return _page("mfa_code.html", status=400 if form.errors else 200, form=form, factor="sms",
                 action_url=url_for("account.verify_phone"), masked_phone=mask_phone(number),
                 resend_url=None, resend_form=None, resend_wait_seconds=resend_wait_seconds(challenge),
                 change_phone_url=url_for("account.phone"), other_methods_url=None, recovery_url=None,
                 contact_admin=False, remember_device_days=None, page_title=gettext("Enter your code"))


@account_bp.route("/totp", methods=["GET", "POST"])
def totp_setup():
    browser_session, user = current_user(recent_proof=True)
    if not g.realm.totp_enabled:
        abort(404)
    device_id = _pending(browser_session).get("totp_device")
    device = db.session.get(Authenticator, device_id) if isinstance(device_id, int) else None
    if device is None or device.user_id != user.id or device.state != "pending":
        device, _ = begin_totp_enrolment(user)
        _set_pending(browser_session, totp_device=device.id)
        db.session.commit()
    form = TotpSetupForm()
    if form.validate_on_submit():
        if attempts.claim_attempt(user):
            return _locked_page()
        if activate_totp(user, device, form.code.data, name=form.name.data):
            _set_pending(browser_session, totp_device=None)
            first = _first_factor_added(browser_session, user)
            if not first:
                _flash(browser_session, "success", gettext("Authenticator app '%(name)s' is set up.", name=device.name))
            db.session.commit()
            if first:
                return redirect(url_for("account.new_recovery_codes"))
            return redirect(url_for("account.home"))
        attempts.record_failure(user, factor="totp")
        form.code.errors = [gettext("That code is not right. Check the time on your phone and try again.")]
    elif request.method == "GET":
        form.name.data = device.name
    secret = device_secret(device)
    return _page("totp_setup.html", status=400 if form.errors else 200, form=form,
                 action_url=url_for("account.totp_setup"),
                 qr_svg=build_totp_svg(provisioning_uri(g.realm, user, secret)),
                 secret_display=secret_for_display(secret), cancel_url=url_for("account.home"),
                 page_title=gettext("Set up authenticator app"))


def _own_device(user, device_id):
    device = db.session.get(Authenticator, device_id)
    if device is None or device.user_id != user.id or device.state != "active":
        abort(404)
    return device


@account_bp.post("/devices/<int:device_id>/rename")
def rename_device_view(device_id):
    browser_session, user = current_user(recent_proof=True)
    device = _own_device(user, device_id)
    form = DeviceNameForm(prefix=f"d{device_id}")
    if form.validate_on_submit():
        try:
            rename_device(device, form.name.data)
        except ServiceError as error:
            db.session.rollback()
            _flash(browser_session, "error", error.message)
        else:
            _flash(browser_session, "success", gettext("Device renamed."))
    else:
        _flash(browser_session, "error", gettext("Give the device a name of at most 100 characters."))
    db.session.commit()
    return redirect(url_for("account.home"))


@account_bp.post("/devices/<int:device_id>/remove")
def remove_device_view(device_id):
    browser_session, user = current_user(recent_proof=True)
    device = _own_device(user, device_id)
    if ConfirmForm(prefix=f"r{device_id}").validate_on_submit():
        remove_device(user, device)
        _flash(browser_session, "success", gettext("Authenticator app removed."))
        db.session.commit()
    return redirect(url_for("account.home"))


@account_bp.post("/recovery-codes")
def regenerate_recovery_codes():
    browser_session, user = current_user(recent_proof=True)
    if not ConfirmForm(prefix="regen").validate_on_submit():
        abort(400)
    _show_codes(browser_session, generate_recovery_codes(user))
    db.session.commit()
    return redirect(url_for("account.new_recovery_codes"))


@account_bp.route("/recovery-codes/new", methods=["GET", "POST"])
def new_recovery_codes():
    browser_session, _ = current_user()
    codes = _pending_codes(browser_session)
    if not codes:
        return redirect(url_for("account.home"))
    form = SavedCodesForm()
    if form.validate_on_submit():
        _set_pending(browser_session, recovery_codes=None)
        db.session.commit()
        return redirect(url_for("account.home"))
    return _page("recovery_codes.html", status=400 if form.errors else 200, form=form, codes=codes,
                 download_url=url_for("account.download_recovery_codes"),
                 action_url=url_for("account.new_recovery_codes"), page_title=gettext("Save your recovery codes"))


@account_bp.get("/recovery-codes.txt")
def download_recovery_codes():
    from ..mfa.views import recovery_codes_file

    browser_session, user = current_user()
    codes = _pending_codes(browser_session)
    if not codes:
        abort(404)
    return recovery_codes_file(g.realm, user, codes)


@account_bp.post("/mfa")
def toggle_mfa():
    browser_session, user = current_user(recent_proof=lambda user: user.mfa_enabled)
    realm = g.realm
    if not realm.users_may_toggle_mfa or realm.mfa_required or not ConfirmForm().validate_on_submit():
        abort(403)
    user.mfa_enabled = not user.mfa_enabled
    record_event("mfa.user_flag_changed", realm=realm, user=user, enabled=user.mfa_enabled, by="user")
    _flash(browser_session, "success", gettext("Two-factor authentication is on.") if user.mfa_enabled
           else gettext("Two-factor authentication is off."))
    db.session.commit()
    return redirect(url_for("account.home"))


@account_bp.post("/remembered-devices/<int:device_id>/forget")
def forget_remembered_device(device_id):
    """Forgetting needs no second factor: it only takes trust away."""
    browser_session, user = current_user()
    if ConfirmForm(prefix=f"f{device_id}").validate_on_submit() and forget_device(user, device_id):
        _flash(browser_session, "success", gettext("Device forgotten. It will ask for your second factor at the next login."))
        db.session.commit()
    return redirect(url_for("account.home"))


@account_bp.post("/remembered-devices/forget")
def forget_all_remembered_devices():
    browser_session, user = current_user()
    if ConfirmForm(prefix="forget-all").validate_on_submit():
        forget_all_devices(user, reason="user")
        _flash(browser_session, "success",
               gettext("All devices forgotten. Each will ask for your second factor at the next login."))
        db.session.commit()
    return redirect(url_for("account.home"))


@account_bp.post("/apps/<int:consent_id>/remove")
def remove_app_access(consent_id):
    """Like forgetting a device, removing an app's access needs no second factor: it only
    takes access away."""
    browser_session, user = current_user()
    app = next(((consent, client) for consent, client in list_consents(user) if consent.id == consent_id), None)
    if app is None:
        abort(404)
    consent, client = app
    if ConfirmForm(prefix=f"c{consent_id}").validate_on_submit():
        revoke_consent(user, consent.client_id)
        _flash(browser_session, "success",
               gettext("%(name)s can no longer access your account. It will ask again the next time you use it.",
                       name=client.name))
        db.session.commit()
    return redirect(url_for("account.home"))


@account_bp.post("/identities/<int:identity_id>/unlink")
def unlink_identity_view(identity_id):
    browser_session, user = current_user(recent_proof=True)
    identity = next((i for i in identities_of(user) if i.id == identity_id), None)
    if identity is None:
        abort(404)
    if ConfirmForm(prefix=f"u{identity_id}").validate_on_submit():
        try:
            unlink_identity(user, identity)
        except ServiceError as error:
            db.session.rollback()
            _flash(browser_session, "error", error.message)
        else:
            _flash(browser_session, "success",
                   gettext("%(provider)s is no longer linked.", provider=identity.provider.display_name))
        db.session.commit()
    return redirect(url_for("account.home"))
