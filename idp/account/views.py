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

from flask import Blueprint, abort, current_app, g, make_response, redirect, request, url_for

from ..extensions import db
from ..i18n import gettext
from ..lifecycle.devices import current_device, describe_browser, forget_all_devices, forget_device, remembered_devices
from ..login import flow as login_flow
from ..login.forms import ConfirmForm
from ..login.sessions import current_browser_session
from ..consent.views import SCOPE_DESCRIPTIONS
from ..mfa import flows
from ..mfa.base import FactorError
from ..mfa.forms import CodeForm, DeviceNameForm, SavedCodesForm
from ..mfa.registry import all_factors, get_factor
from ..security import decrypt, encrypt
from ..services import ServiceError
from ..services.audit import record_event
from ..services.consents import list_consents, revoke_consent
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
    return g.realm.mfa_enabled and flows.has_factor(g.realm, user)


def _page(template, status=200, **context):
    return render_page(template, realm=g.realm, status=status, **context)


@dataclass
class CredentialItem:
    """One credential as the account page lists it, with its forms."""

    description: object
    rename_url: str | None
    remove_url: str | None
    rename_form: object
    remove_form: object


@dataclass
class FactorSection:
    """A factor's section of the account page (its partial ``mfa/<kind>/account.html``)."""

    factor: object
    credentials: list
    add_url: str | None
    managed_by_admin: str | None


def _factor_sections(user) -> list[FactorSection]:
    sections = []
    for factor in all_factors():
        if not factor.enabled(g.realm):
            continue
        refused = factor.self_enrolment_refused(user)
        items = []
        for row in flows.credentials_of(user, kind=factor.kind):
            items.append(CredentialItem(
                description=factor.describe(row),
                rename_url=url_for("account.rename_credential", credential_id=row.id)
                if factor.renamable(row) else None,
                remove_url=url_for("account.remove_credential", credential_id=row.id)
                if not factor.backup and not refused else None,
                rename_form=DeviceNameForm(formdata=None, prefix=f"n{row.id}", name=row.name),
                remove_form=ConfirmForm(formdata=None, prefix=f"r{row.id}"),
            ))
        add_url = None if factor.backup or refused else url_for("account.setup_factor", kind=factor.kind)
        sections.append(FactorSection(factor=factor, credentials=items, add_url=add_url, managed_by_admin=refused))
    return sections


@account_bp.get("")
def home():
    browser_session, user = current_user()
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
        "account.html", user=user,
        factor_sections=_factor_sections(user),
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


def _show_codes(browser_session, codes):
    _set_pending(browser_session, recovery_codes=encrypt(json.dumps(codes)))


def _pending_codes(browser_session):
    blob = _pending(browser_session).get("recovery_codes")
    return json.loads(decrypt(blob)) if blob else None


def _locked_page():
    return render_error(429, gettext("Too many attempts"), gettext("There were too many wrong codes. Try again later."))


def _setup_factor(user, kind):
    factor = get_factor(kind)
    if factor is None or factor.backup or not factor.enabled(g.realm):
        abort(404)
    refused = factor.self_enrolment_refused(user)
    if refused:
        abort(make_response(render_error(403, gettext("The phone number cannot be changed here")
                                          if factor.single else gettext("This cannot be changed here"), refused)))
    return factor


def _pending_credential(browser_session, user, factor):
    enrolment = _pending(browser_session).get("enrolment") or {}
    if enrolment.get("kind") != factor.kind:
        return None
    return flows.pending_credential(user, enrolment.get("id"), factor.kind)


def _setup_page(factor, pending, form, *, status=200, messages=None):
    enrolment = factor.enrolment_context(flows.enrolment_challenge(pending)) if pending is not None else {}
    return _page("mfa_setup.html", status=status, factor=factor, pending=pending, form=form, enrolment=enrolment,
                 action_url=url_for("account.setup_factor", kind=factor.kind, confirm=1 if pending is not None else None),
                 resend_url=url_for("account.setup_factor_resend", kind=factor.kind) if factor.resendable else None,
                 resend_form=CodeForm(formdata=None, prefix="resend") if factor.resendable else None,
                 restart_url=url_for("account.setup_factor", kind=factor.kind),
                 cancel_url=url_for("account.home"), flash_messages=messages or [],
                 page_title=str(factor.enrol_label))


def _begin_setup(browser_session, user, factor, fields):
    pending = flows.start_enrolment(factor, user, fields)
    _set_pending(browser_session, enrolment={"kind": factor.kind, "id": pending.id})
    if factor.resendable:
        factor.deliver_enrolment(flows.enrolment_challenge(pending))
    db.session.commit()
    return pending


def _status(error: FactorError) -> int:
    if error.retry_after is not None:
        return 429
    return 400 if error.field else 503


@account_bp.route("/factors/<kind>/setup", methods=["GET", "POST"])
def setup_factor(kind):
    """Set up a factor: the same steps as at login, then back to the account page (with
    recovery codes, shown once, when it is the user's first factor)."""
    browser_session, user = current_user(recent_proof=True)
    factor = _setup_factor(user, kind)
    pending = _pending_credential(browser_session, user, factor)
    typed = {}
    if factor.enrolment_needs_input and not request.args.get("confirm"):
        typed, pending = (factor.enrolment_input(pending) if pending is not None else {}), None
    if pending is None and request.method == "GET" and not factor.enrolment_needs_input:
        pending = _begin_setup(browser_session, user, factor, {})
    form = factor.enrol_form(pending, data=typed) if typed and request.method == "GET" else factor.enrol_form(pending)
    if request.method == "GET":
        if pending is not None and getattr(form, "name", None) is not None:
            form.name.data = pending.name
        return _setup_page(factor, pending, form)
    if not form.validate_on_submit():
        return _setup_page(factor, pending, form, status=400)
    if pending is None:
        try:
            _begin_setup(browser_session, user, factor, form.data)
        except FactorError as error:
            from ..mfa.views import _field_for

            db.session.rollback()
            _field_for(form, error).errors = [error.message]
            return _setup_page(factor, None, form, status=400 if error.field or error.retry_after else 503)
        return redirect(url_for("account.setup_factor", kind=factor.kind, confirm=1))
    try:
        codes = flows.complete_enrolment(pending, form.data, by="user")
    except flows.EnrolmentExpired:
        _set_pending(browser_session, enrolment=None)
        db.session.commit()
        return _setup_page(factor, None, factor.enrol_form(None, formdata=None), status=400,
                           messages=[("error", gettext("Too many wrong codes. Start again."))]) \
            if factor.enrolment_needs_input else redirect(url_for("account.setup_factor", kind=factor.kind))
    except flows.WrongResponse as wrong:
        getattr(form, factor.response_field).errors = [wrong.message]
        return _setup_page(factor, pending, form, status=400)
    _set_pending(browser_session, enrolment=None)
    if codes:
        _show_codes(browser_session, codes)
    else:
        _flash(browser_session, "success", gettext(str(factor.added_message), name=pending.name))
    db.session.commit()
    return redirect(url_for("account.new_recovery_codes" if codes else "account.home"))


@account_bp.post("/factors/<kind>/setup/resend")
def setup_factor_resend(kind):
    browser_session, user = current_user(recent_proof=True)
    factor = _setup_factor(user, kind)
    pending = _pending_credential(browser_session, user, factor)
    if pending is None:
        return redirect(url_for("account.setup_factor", kind=factor.kind))
    form = CodeForm(prefix="resend")
    form.code.validators = []
    if not form.validate_on_submit():
        return _setup_page(factor, pending, factor.enrol_form(pending, formdata=None), status=400,
                           messages=[("error", gettext("Your form expired. Try again."))])
    challenge = flows.enrolment_challenge(pending)
    try:
        factor.deliver_enrolment(challenge)
    except FactorError as error:
        return _setup_page(factor, pending, factor.enrol_form(pending, formdata=None), status=_status(error),
                           messages=[("error", error.message)])
    destination = factor.enrolment_context(challenge).get("destination") or ""
    return _setup_page(factor, pending, factor.enrol_form(pending, formdata=None),
                       messages=[("success", gettext("We sent a new code to %(destination)s.", destination=destination))])


def _own_credential(user, credential_id):
    row = flows.find_credential(user, credential_id)
    if row is None or row.state != "active":
        abort(404)
    return row


@account_bp.post("/factors/<credential_id>/rename")
def rename_credential(credential_id):
    browser_session, user = current_user(recent_proof=True)
    row = _own_credential(user, credential_id)
    form = DeviceNameForm(prefix=f"n{credential_id}")
    if form.validate_on_submit():
        try:
            flows.rename(row, form.name.data)
        except FactorError as error:
            db.session.rollback()
            _flash(browser_session, "error", error.message)
        else:
            _flash(browser_session, "success", gettext("Device renamed."))
    else:
        _flash(browser_session, "error", gettext("Give the device a name of at most 100 characters."))
    db.session.commit()
    return redirect(url_for("account.home"))


@account_bp.post("/factors/<credential_id>/remove")
def remove_credential(credential_id):
    browser_session, user = current_user(recent_proof=True)
    row = _own_credential(user, credential_id)
    factor = flows.factor_of(row)
    if factor.backup or factor.self_enrolment_refused(user):
        abort(403)
    if ConfirmForm(prefix=f"r{credential_id}").validate_on_submit():
        name = factor.display_name(row)
        flows.remove(row, by="user")
        _flash(browser_session, "success", gettext("%(name)s removed.", name=name))
        db.session.commit()
    return redirect(url_for("account.home"))


@account_bp.post("/recovery-codes")
def regenerate_recovery_codes():
    browser_session, user = current_user(recent_proof=True)
    if not ConfirmForm(prefix="regen").validate_on_submit():
        abort(400)
    codes = flows.issue_backup_codes(user)
    if not codes:
        abort(404)
    _show_codes(browser_session, codes)
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
