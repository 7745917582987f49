"""Users of a realm: search, User Details (roq-mfa.txt: the "Two-factor Authentication" flag
and the "Phone"), factors, last login, audit trail; reset factors, lock, unlock, delete."""
from __future__ import annotations

import datetime as dt

from flask import g, request

from ...extensions import db
from ...lifecycle.devices import describe_browser, forget_all_devices, remembered_devices
from ...lifecycle.invitation import invite_user, lifetime_hours, send_invitation
from ...mfa import flows
from ...mfa.sms import admin_set_phone, phone_credential, phone_on_record
from ...models import AuditEvent, utcnow
from ...services import NotFound, ServiceError
from ...services.audit import record_event
from ...services.mfa_users import admin_set_mfa
from ...services.sign_out import change_password
from ...services.user_sessions import end_all_user_sessions as end_every_session, end_user_session as end_one_session, list_user_sessions
from ...services.users import create_user, delete_user, get_user, list_users
from .. import admin_bp
from ..accounts import admin_role_of, set_admin_role
from ..audit_log import audit_rows
from ..console import apply_change, done, managed_realm, page_offset, render, requires
from ..forms import (
    ButtonForm,
    ConfirmDeleteForm,
    ConsoleRoleForm,
    OperatorCodeForm,
    SetPasswordForm,
    UserCreateForm,
    UserDetailsForm,
)
from ..operations import lock_user, reset_factors, unlock_user

PAGE_SIZE = 50
TRAIL_SIZE = 20


@admin_bp.get("/realms/<realm_name>/users")
def users():
    realm = managed_realm()
    query = (request.args.get("q") or "").strip()[:320]
    offset = page_offset()
    rows = list_users(realm, email_contains=query or None, limit=PAGE_SIZE + 1, offset=offset)
    return render("users.html", realm=realm, users=rows[:PAGE_SIZE], query=query, offset=offset,
                  next_offset=offset + PAGE_SIZE if len(rows) > PAGE_SIZE else None,
                  page_title=f"{realm.display_name}: users")


@admin_bp.get("/realms/<realm_name>/users/new")
@requires("users")
def new_user():
    realm = managed_realm()
    return _new_user_page(realm, UserCreateForm(formdata=None))


def _new_user_page(realm, form, status=200):
    return render("user_new.html", status=status, realm=realm, form=form, invitation_hours=lifetime_hours(),
                  page_title=f"{realm.display_name}: new user")


@admin_bp.post("/realms/<realm_name>/users/new")
@requires("users")
def create_user_view():
    """As ``idp users create``: with an initial password (the realm's policy applies), or
    without one and an invitation mailed to the address (``lifecycle.invitation``)."""
    realm = managed_realm()
    form = UserCreateForm()
    created = {}
    inviting = form.password_choice.data == "invite"

    def change():
        if inviting:
            created["user"] = invite_user(realm, email=form.email.data, name=form.name.data,
                                          invited_by=g.console_admin.email)
        else:
            if not form.password.data:
                raise ServiceError("Enter the initial password, or send an invitation instead.", field="password")
            created["user"] = create_user(realm, email=form.email.data, password=form.password.data,
                                          name=form.name.data, email_verified=bool(form.email_verified.data))

    if form.validate() and apply_change(form, change):
        user = created["user"]
        message = (f"{user.email} was created and invited by mail to choose a password." if inviting
                   else f"{user.email} was created with the password you set.")
        return done(message, "admin.user_details", user_id=user.id)
    return _new_user_page(realm, form, status=400)


def _user(user_id: str):
    realm = managed_realm()
    if len(user_id) > 320:
        raise NotFound("That user does not exist.")
    return realm, get_user(realm, user_id)


def _user_page(realm, user, *, details_form=None, delete_form=None, role_form=None, password_form=None, errors=(),
               status=200):
    trail = list(db.session.scalars(
        db.select(AuditEvent).filter_by(user_id=user.id).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(TRAIL_SIZE)))
    if details_form is None:
        details_form = UserDetailsForm(formdata=None, mfa_enabled=user.mfa_enabled, phone=phone_on_record(user) or "")
    console_role = admin_role_of(user)
    if role_form is None and console_role:
        role_form = ConsoleRoleForm(formdata=None, role=console_role)
    locked_mfa = user.mfa_locked_until is not None and user.mfa_locked_until > utcnow()
    return render("user.html", status=status, realm=realm, user=user, details_form=details_form,
                  delete_form=delete_form or ConfirmDeleteForm(formdata=None), button_form=ButtonForm(formdata=None),
                  password_form=password_form or SetPasswordForm(formdata=None),
                  credentials=flows.describe_credentials(user), phone=phone_credential(user),
                  operator_setups=[f for f in flows.enrollable_factors(realm) if f.operator_enrolment],
                  remembered=[(device, describe_browser(device.user_agent)) for device in remembered_devices(user)],
                  sessions=[(row, describe_browser(row.user_agent) if row.user_agent else "Unknown browser",
                             dt.datetime.fromtimestamp(row.auth_time, dt.timezone.utc) if row.auth_time else None)
                            for row in list_user_sessions(user)],
                  mfa_locked=locked_mfa, trail=audit_rows(trail), console_role=console_role, role_form=role_form,
                  is_self=user.id == g.console_admin.user.id, errors=list(errors),
                  page_title=f"{user.email}: User Details")


@admin_bp.get("/realms/<realm_name>/users/<user_id>")
def user_details(user_id):
    realm, user = _user(user_id)
    return _user_page(realm, user)


@admin_bp.post("/realms/<realm_name>/users/<user_id>")
@requires("users")
def update_user_details(user_id):
    """Phone first, then the flag, as ``idp users set --phone --mfa`` does."""
    realm, user = _user(user_id)
    form = UserDetailsForm()

    def change():
        phone = (form.phone.data or "").strip()
        if phone != (phone_on_record(user) or ""):
            admin_set_phone(user, phone)
        if bool(form.mfa_enabled.data) != bool(user.mfa_enabled):
            admin_set_mfa(user, bool(form.mfa_enabled.data))

    if form.validate() and apply_change(form, change):
        return done(f"User Details of {user.email} saved.", "admin.user_details", user_id=user.id)
    return _user_page(realm, user, details_form=form, status=400)


def _not_self(user, verb: str) -> None:
    if user.id == g.console_admin.user.id:
        raise ServiceError(f"You cannot {verb} your own console account.")


def _user_action(user_id, action, message, verb):
    realm, user = _user(user_id)
    form = ButtonForm()
    email = user.email

    def change():
        _not_self(user, verb)
        action(user)

    if apply_change(form, change):
        return done(message.format(email=email), "admin.user_details", user_id=user_id)
    return _user_page(realm, user, errors=form.form_errors, status=409)


@admin_bp.post("/realms/<realm_name>/users/<user_id>/reset-factors")
@requires("users")
def reset_user_factors(user_id):
    return _user_action(user_id, reset_factors, "Every second factor of {email} was removed.", "reset the factors of")


@admin_bp.post("/realms/<realm_name>/users/<user_id>/lock")
@requires("users")
def lock_user_view(user_id):
    return _user_action(user_id, lock_user, "{email} is locked and was logged out everywhere.", "lock")


@admin_bp.post("/realms/<realm_name>/users/<user_id>/unlock")
@requires("users")
def unlock_user_view(user_id):
    return _user_action(user_id, unlock_user, "{email} can log in again.", "unlock")


@admin_bp.post("/realms/<realm_name>/users/<user_id>/password")
@requires("users")
def set_user_password(user_id):
    """As ``idp users set --password`` and the API: the user is signed out everywhere unless
    "Keep the user's sessions" is ticked; the audit events say which."""
    realm, user = _user(user_id)
    form = SetPasswordForm()

    def change():
        _not_self(user, "set the password of")
        change_password(user, form.password.data, reason="admin", keep_sessions=bool(form.keep_sessions.data))

    if form.validate() and apply_change(form, change):
        outcome = ("their sessions and app tokens were kept" if form.keep_sessions.data
                   else "they were logged out of every browser and app")
        return done(f"New password set for {user.email}; {outcome}.", "admin.user_details", user_id=user.id)
    return _user_page(realm, user, password_form=form, errors=form.form_errors, status=400)


@admin_bp.post("/realms/<realm_name>/users/<user_id>/forget-devices")
@requires("users")
def forget_user_devices(user_id):
    """Every browser the user asked to remember asks for the second factor again (``idp users
    forget-devices`` does the same); the audit event names the administrator."""
    realm, user = _user(user_id)
    form = ButtonForm()
    forgotten = {}

    def change():
        _not_self(user, "forget the devices of")
        forgotten["count"] = forget_all_devices(user, reason="admin")

    if apply_change(form, change):
        count = forgotten["count"]
        message = (f"Forgot {count} remembered device{'s' if count != 1 else ''} of {user.email}: the next login "
                   f"on {'them' if count != 1 else 'it'} asks for a second factor." if count
                   else f"{user.email} had no remembered devices.")
        return done(message, "admin.user_details", user_id=user.id)
    return _user_page(realm, user, errors=form.form_errors, status=409)


@admin_bp.post("/realms/<realm_name>/users/<user_id>/delete")
@requires("users")
def delete_user_view(user_id):
    realm, user = _user(user_id)
    form = ConfirmDeleteForm()
    email = user.email

    def change():
        _not_self(user, "delete")
        delete_user(user)

    if form.validate() and apply_change(form, change):
        return done(f"{email} was deleted.", "admin.users")
    return _user_page(realm, user, delete_form=form, errors=form.form_errors, status=400)


@admin_bp.post("/realms/<realm_name>/users/<user_id>/role")
@requires("admins")
def set_console_role(user_id):
    """An owner changes another administrator's role (``idp admins set-role`` does the same)."""
    realm, user = _user(user_id)
    form = ConsoleRoleForm()

    def change():
        _not_self(user, "change the role of")
        if admin_role_of(user) is None:
            raise ServiceError("Only administrators have a console role.")
        before = admin_role_of(user)
        set_admin_role(user, form.role.data)
        record_event("admin.role_changed", realm=realm, user=user, role=form.role.data, previous=before)

    if form.validate() and apply_change(form, change):
        return done(f"{user.email} is now {form.role.data}.", "admin.user_details", user_id=user.id)
    return _user_page(realm, user, role_form=form, errors=form.form_errors, status=400)


@admin_bp.post("/realms/<realm_name>/users/<user_id>/sessions/<sid>/end")
@requires("users")
def end_user_session(user_id, sid):
    """That browser is logged out, and the tokens the apps got in that session are revoked."""
    realm, user = _user(user_id)
    form = ButtonForm()

    def change():
        _not_self(user, "end the sessions of")
        end_one_session(user, sid)

    if apply_change(form, change):
        return done(f"The session of {user.email} was ended.", "admin.user_details", user_id=user.id,
                    _anchor="sessions")
    return _user_page(realm, user, errors=form.form_errors, status=409)


@admin_bp.post("/realms/<realm_name>/users/<user_id>/sessions/end-all")
@requires("users")
def end_all_user_sessions(user_id):
    realm, user = _user(user_id)
    form = ButtonForm()
    ended = {}

    def change():
        _not_self(user, "end the sessions of")
        ended["count"] = end_every_session(user)["sessions"]

    if apply_change(form, change):
        count = ended["count"]
        message = (f"Ended {count} session{'s' if count != 1 else ''} of {user.email}." if count
                   else f"{user.email} had no session to end.")
        return done(message, "admin.user_details", user_id=user.id, _anchor="sessions")
    return _user_page(realm, user, errors=form.form_errors, status=409)


@admin_bp.post("/realms/<realm_name>/users/<user_id>/invite")
@requires("users")
def resend_invitation(user_id):
    """A new invitation link for a user who has no password yet (the earlier links stop
    working): the mail was lost, or its link expired."""
    realm, user = _user(user_id)
    form = ButtonForm()

    def change():
        _not_self(user, "invite")
        if user.password_hash is not None:
            raise ServiceError(f"{user.email} already has a password: use Set password, or let them reset it.")
        send_invitation(user, invited_by=g.console_admin.email)

    if apply_change(form, change):
        return done(f"A new invitation was mailed to {user.email}.", "admin.user_details", user_id=user.id)
    return _user_page(realm, user, errors=form.form_errors, status=409)


@admin_bp.post("/realms/<realm_name>/users/<user_id>/credentials/<credential_id>/remove")
@requires("users")
def remove_user_credential(user_id, credential_id):
    """Remove one second factor (the user's last one turns MFA off for them unless the realm
    requires it, as the API does)."""
    realm, user = _user(user_id)
    row = flows.find_credential(user, credential_id)
    if row is None:
        raise NotFound("That credential does not exist.")
    form = ButtonForm()
    description = flows.factor_of(row).describe(row)

    def change():
        _not_self(user, "remove the factors of")
        flows.remove(row, by="admin")

    if apply_change(form, change):
        return done(f"{description.kind_label} '{description.name}' of {user.email} was removed.",
                    "admin.user_details", user_id=user.id)
    return _user_page(realm, user, errors=form.form_errors, status=409)


def _operator_factor(realm, kind):
    factor = next((f for f in flows.enrollable_factors(realm) if f.kind == kind and f.operator_enrolment), None)
    if factor is None:
        raise NotFound("That factor cannot be set up from the console in this realm.")
    return factor


@admin_bp.route("/realms/<realm_name>/users/<user_id>/factors/<kind>/setup", methods=["GET", "POST"])
@requires("users")
def setup_user_credential(user_id, kind):
    """GET explains; POST makes a new pending credential and shows its QR code, this once, to
    the operator (a reload makes another); the first code from the device activates it."""
    realm, user = _user(user_id)
    factor = _operator_factor(realm, kind)
    form = ButtonForm()
    if request.method == "GET" or not form.validate():
        return render("credential_setup.html", realm=realm, user=user, factor=factor, pending=None, enrolment={},
                      button_form=ButtonForm(formdata=None), code_form=None, page_title=f"{user.email}: {factor.label}")
    _not_self(user, "set up factors of")
    pending = flows.start_enrolment(factor, user, {})
    record_event("admin.credential_setup_started", realm=realm, user=user, factor=factor.kind)
    db.session.commit()
    return render("credential_setup.html", realm=realm, user=user, factor=factor, pending=pending,
                  enrolment=factor.enrolment_context(flows.enrolment_challenge(pending)),
                  button_form=ButtonForm(formdata=None), code_form=OperatorCodeForm(formdata=None, name=pending.name),
                  page_title=f"{user.email}: {factor.label}")


@admin_bp.post("/realms/<realm_name>/users/<user_id>/credentials/<credential_id>/verify")
@requires("users")
def verify_user_credential(user_id, credential_id):
    realm, user = _user(user_id)
    pending = flows.pending_credential(user, credential_id)
    if pending is None:
        raise NotFound("That credential does not exist or is already active.")
    factor = _operator_factor(realm, pending.kind)
    form = OperatorCodeForm()

    def page(status):
        return render("credential_setup.html", status=status, realm=realm, user=user, factor=factor, pending=pending,
                      enrolment={}, button_form=ButtonForm(formdata=None), code_form=form,
                      page_title=f"{user.email}: {factor.label}")

    if not form.validate():
        return page(400)
    try:
        flows.complete_enrolment(pending, form.data, by="admin")
    except flows.EnrolmentExpired:
        db.session.commit()
        form.code.errors = ["Too many wrong codes for this setup. Start again for a new QR code."]
        return page(400)
    except flows.WrongResponse as wrong:
        form.code.errors = [wrong.message]
        return page(400)
    db.session.commit()
    return done(f"{factor.label} '{pending.name}' is active for {user.email}.", "admin.user_details", user_id=user.id)
