"""A realm's organizations (their verified domains, members with roles, invitations) and its
roles (permissions, and the users holding them for the whole realm). Same services as the CLI
and the management API. Operators manage organizations and their members; only owners define
roles, since roles decide what tokens allow."""
from __future__ import annotations

from flask import g

from ...models import OrganizationInvitation
from ...organizations.invitations import invite
from ...services import NotFound, ServiceError
from ...services import organizations as organization_service
from ...services import roles as role_service
from ...services.users import get_user
from .. import admin_bp
from ..console import apply_change, done, managed_realm, render, requires
from ..forms import (
    ButtonForm,
    DomainForm,
    InvitationForm,
    MemberForm,
    MemberRolesForm,
    OrganizationForm,
    OrganizationSettingsForm,
    RoleAssignForm,
    RoleForm,
    RoleSettingsForm,
)

ORGANIZATION = "/realms/<realm_name>/organizations/<organization>"
ROLE = "/realms/<realm_name>/roles/<role_name>"


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").replace(",", "\n").splitlines() if line.strip()]


def _role_choices(realm, *, none_label: str | None = None) -> list[tuple[str, str]]:
    choices = [(role.name, role.name) for role in role_service.list_roles(realm)]
    return ([("", none_label)] if none_label else []) + choices


def _user_by_email(realm, email: str):
    """The realm's user, or a refusal on the form's email field (not a 404 page)."""
    try:
        return get_user(realm, (email or "").strip())
    except NotFound:
        raise ServiceError("No user of this realm has this email.", field="email") from None


def _organization(realm, name: str):
    if len(name) > 64:
        raise NotFound("There is no such organization in this realm.")
    return organization_service.get_organization(realm, name)


# --- organizations ------------------------------------------------------------------------------

def _organizations_page(realm, form=None, status=200):
    if form is None:
        form = OrganizationForm(formdata=None)
    form.default_role.choices = _role_choices(realm, none_label="No role")
    return render("organizations.html", status=status, realm=realm,
                  organizations=organization_service.list_organizations(realm), form=form,
                  page_title=f"{realm.display_name}: organizations")


@admin_bp.get("/realms/<realm_name>/organizations")
def organizations():
    return _organizations_page(managed_realm())


@admin_bp.post("/realms/<realm_name>/organizations")
@requires("organizations")
def create_organization_view():
    realm = managed_realm()
    form = OrganizationForm()
    created = {}

    def change():
        created["organization"] = organization_service.create_organization(
            realm, form.name.data, display_name=form.display_name.data, domains=_lines(form.domains.data),
            auto_join=form.auto_join.data, default_role=form.default_role.data or None)

    if form.validate() and apply_change(form, change, aliases={"domain": "domains"}):
        return done(f"Organization {created['organization'].name} created.", "admin.organization_details",
                    organization=created["organization"].name)
    return _organizations_page(realm, form, status=400)


def _organization_page(realm, organization, status=200, **forms):
    role_choices = _role_choices(realm)
    settings_form = forms.get("settings_form") or OrganizationSettingsForm(
        formdata=None, display_name=organization.display_name,
        default_role=organization.default_role.name if organization.default_role else "")
    settings_form.default_role.choices = _role_choices(realm, none_label="No role")
    member_form = forms.get("member_form") or MemberForm(formdata=None)
    member_form.roles.choices = role_choices
    invitation_form = forms.get("invitation_form") or InvitationForm(
        formdata=None, role=organization.default_role.name if organization.default_role else "")
    invitation_form.role.choices = _role_choices(realm, none_label="No role")
    members = organization_service.list_members(organization)
    roles_forms = {}
    for membership in members:
        roles_form = MemberRolesForm(formdata=None, roles=[role.name for role in membership.roles])
        roles_form.roles.choices = role_choices
        roles_forms[membership.id] = roles_form
    return render("organization.html", status=status, realm=realm, organization=organization, members=members,
                  roles_forms=roles_forms, invitations=organization_service.list_invitations(organization),
                  settings_form=settings_form, member_form=member_form, invitation_form=invitation_form,
                  domain_form=forms.get("domain_form") or DomainForm(formdata=None),
                  button_form=ButtonForm(formdata=None), page_title=organization.display_name)


@admin_bp.get(ORGANIZATION)
def organization_details(organization):
    realm = managed_realm()
    return _organization_page(realm, _organization(realm, organization))


@admin_bp.post(ORGANIZATION)
@requires("organizations")
def update_organization_view(organization):
    realm = managed_realm()
    org = _organization(realm, organization)
    form = OrganizationSettingsForm()
    form.default_role.choices = _role_choices(realm, none_label="No role")

    def change():
        organization_service.update_organization(org, display_name=form.display_name.data,
                                                 default_role=form.default_role.data or "")

    if form.validate() and apply_change(form, change):
        return done("Organization saved.", "admin.organization_details", organization=org.name)
    return _organization_page(realm, _organization(realm, organization), status=400, settings_form=form)


@admin_bp.post(f"{ORGANIZATION}/delete")
@requires("organizations")
def delete_organization_view(organization):
    realm = managed_realm()
    org = _organization(realm, organization)
    name = org.name
    form = ButtonForm()
    if apply_change(form, lambda: organization_service.delete_organization(org)):
        return done(f"Organization {name} deleted, with its memberships and invitations.", "admin.organizations")
    return _organization_page(realm, org, status=409)


@admin_bp.post(f"{ORGANIZATION}/domains")
@requires("organizations")
def add_organization_domain(organization):
    realm = managed_realm()
    org = _organization(realm, organization)
    form = DomainForm()
    if form.validate() and apply_change(form, lambda: organization_service.add_domain(
            org, form.domain.data, auto_join=form.auto_join.data)):
        return done("Domain saved.", "admin.organization_details", organization=org.name)
    return _organization_page(realm, _organization(realm, organization), status=400, domain_form=form)


@admin_bp.post(f"{ORGANIZATION}/domains/<domain>/remove")
@requires("organizations")
def remove_organization_domain(organization, domain):
    realm = managed_realm()
    org = _organization(realm, organization)
    form = ButtonForm()
    if apply_change(form, lambda: organization_service.remove_domain(org, domain[:300])):
        return done(f"Domain {domain} removed.", "admin.organization_details", organization=org.name)
    return _organization_page(realm, org, status=409)


@admin_bp.post(f"{ORGANIZATION}/members")
@requires("organizations")
def add_organization_member(organization):
    realm = managed_realm()
    org = _organization(realm, organization)
    form = MemberForm()
    form.roles.choices = _role_choices(realm)

    def change():
        organization_service.add_member(org, _user_by_email(realm, form.email.data), roles=form.roles.data)

    if form.validate() and apply_change(form, change):
        return done(f"{form.email.data.strip()} added.", "admin.organization_details", organization=org.name)
    return _organization_page(realm, _organization(realm, organization), status=400, member_form=form)


@admin_bp.post(f"{ORGANIZATION}/members/<user_id>/roles")
@requires("organizations")
def update_organization_member(organization, user_id):
    realm = managed_realm()
    org = _organization(realm, organization)
    user = get_user(realm, user_id[:320])
    organization_service.get_membership(org, user)
    form = MemberRolesForm()
    form.roles.choices = _role_choices(realm)
    if form.validate() and apply_change(form, lambda: organization_service.set_member_roles(org, user, form.roles.data)):
        return done(f"Roles of {user.email} saved.", "admin.organization_details", organization=org.name)
    return _organization_page(realm, _organization(realm, organization), status=400)


@admin_bp.post(f"{ORGANIZATION}/members/<user_id>/remove")
@requires("organizations")
def remove_organization_member(organization, user_id):
    realm = managed_realm()
    org = _organization(realm, organization)
    user = get_user(realm, user_id[:320])
    form = ButtonForm()
    if apply_change(form, lambda: organization_service.remove_member(org, user)):
        return done(f"{user.email} removed from {org.name}.", "admin.organization_details", organization=org.name)
    return _organization_page(realm, org, status=409)


@admin_bp.post(f"{ORGANIZATION}/invitations")
@requires("organizations")
def invite_to_organization_view(organization):
    realm = managed_realm()
    org = _organization(realm, organization)
    form = InvitationForm()
    form.role.choices = _role_choices(realm, none_label="No role")

    def change():
        invite(org, form.email.data, role=form.role.data or None, invited_by=g.console_admin.email)

    if form.validate() and apply_change(form, change):
        return done(f"Invitation mailed to {form.email.data.strip()}.", "admin.organization_details",
                    organization=org.name)
    return _organization_page(realm, _organization(realm, organization), status=400, invitation_form=form)


@admin_bp.post(f"{ORGANIZATION}/invitations/<int(max=2147483647):invitation_id>/revoke")
@requires("organizations")
def revoke_organization_invitation(organization, invitation_id):
    from ...extensions import db

    realm = managed_realm()
    org = _organization(realm, organization)
    invitation = db.session.get(OrganizationInvitation, invitation_id)
    if invitation is None or invitation.organization_id != org.id:
        raise NotFound("This organization has no such invitation.")
    form = ButtonForm()
    if apply_change(form, lambda: organization_service.revoke_invitation(invitation)):
        return done(f"Invitation of {invitation.email} withdrawn.", "admin.organization_details",
                    organization=org.name)
    return _organization_page(realm, org, status=409)


# --- roles --------------------------------------------------------------------------------------

def _roles_page(realm, form=None, status=200):
    return render("roles.html", status=status, realm=realm, roles=role_service.list_roles(realm),
                  form=form or RoleForm(formdata=None), page_title=f"{realm.display_name}: roles")


def _role(realm, name: str):
    if len(name) > 64:
        raise NotFound("There is no such role in this realm.")
    return role_service.get_role(realm, name)


@admin_bp.get("/realms/<realm_name>/roles")
def roles():
    return _roles_page(managed_realm())


@admin_bp.post("/realms/<realm_name>/roles")
@requires("roles")
def create_role_view():
    realm = managed_realm()
    form = RoleForm()
    created = {}

    def change():
        created["role"] = role_service.create_role(realm, form.name.data, description=form.description.data,
                                                   permissions=_lines(form.permissions.data))

    if form.validate() and apply_change(form, change):
        return done(f"Role {created['role'].name} created.", "admin.role_details", role_name=created["role"].name)
    return _roles_page(realm, form, status=400)


def _role_page(realm, role, status=200, *, settings_form=None, assign_form=None):
    settings_form = settings_form or RoleSettingsForm(formdata=None, description=role.description or "",
                                                      permissions="\n".join(role.permissions or []))
    return render("role.html", status=status, realm=realm, role=role, users=role_service.users_with_role(role),
                  settings_form=settings_form, assign_form=assign_form or RoleAssignForm(formdata=None),
                  button_form=ButtonForm(formdata=None), page_title=f"Role {role.name}")


@admin_bp.get(ROLE)
def role_details(role_name):
    realm = managed_realm()
    return _role_page(realm, _role(realm, role_name))


@admin_bp.post(ROLE)
@requires("roles")
def update_role_view(role_name):
    realm = managed_realm()
    role = _role(realm, role_name)
    form = RoleSettingsForm()

    def change():
        role_service.update_role(role, permissions=_lines(form.permissions.data), description=form.description.data)

    if form.validate() and apply_change(form, change):
        return done("Role saved.", "admin.role_details", role_name=role.name)
    return _role_page(realm, _role(realm, role_name), status=400, settings_form=form)


@admin_bp.post(f"{ROLE}/delete")
@requires("roles")
def delete_role_view(role_name):
    realm = managed_realm()
    role = _role(realm, role_name)
    form = ButtonForm()
    if apply_change(form, lambda: role_service.delete_role(role)):
        return done(f"Role {role_name} deleted; users and members holding it lost it.", "admin.roles")
    return _role_page(realm, role, status=409)


@admin_bp.post(f"{ROLE}/users")
@requires("roles")
def assign_role_view(role_name):
    realm = managed_realm()
    role = _role(realm, role_name)
    form = RoleAssignForm()
    if form.validate() and apply_change(form, lambda: role_service.assign_role(_user_by_email(realm, form.email.data),
                                                                               role)):
        return done(f"{form.email.data.strip()} has the role {role.name}.", "admin.role_details", role_name=role.name)
    return _role_page(realm, _role(realm, role_name), status=400, assign_form=form)


@admin_bp.post(f"{ROLE}/users/<user_id>/remove")
@requires("roles")
def unassign_role_view(role_name, user_id):
    realm = managed_realm()
    role = _role(realm, role_name)
    user = get_user(realm, user_id[:320])
    form = ButtonForm()
    if apply_change(form, lambda: role_service.unassign_role(user, role)):
        return done(f"{user.email} no longer has the role {role.name}.", "admin.role_details", role_name=role.name)
    return _role_page(realm, role, status=409)
