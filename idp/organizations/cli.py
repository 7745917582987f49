"""``idp orgs ...`` (organizations, their domains, members and invitations) and ``idp roles
...`` (realm roles, their permissions, and the realm roles of users)."""
from __future__ import annotations

import click

ROLE_HELP = "A role (repeatable) the member holds in the organization."


def register(main, *, with_app, realm_option, realm_lookup, printer, commit):
    from .describe import invitation_json, member_json, organization_json, role_json

    def _org(realm_name, name):
        from ..services.organizations import get_organization

        return get_organization(realm_lookup(realm_name), name)

    def _user(realm_name, email):
        from ..services.users import get_user

        return get_user(realm_lookup(realm_name), email)

    # --- idp orgs -------------------------------------------------------------------------------

    @main.group()
    def orgs():
        """Organizations: a realm's customers or teams, their members and roles."""

    @orgs.command("create")
    @click.argument("name")
    @realm_option
    @click.option("--display-name", default=None, help="Shown to users (default: NAME).")
    @click.option("--domain", "domains", multiple=True, metavar="DOMAIN",
                  help="A verified email domain of the organization (repeatable).")
    @click.option("--auto-join", is_flag=True,
                  help="Users with a verified address at its domains join automatically.")
    @click.option("--default-role", default=None, help="The role of members who join by domain or invitation.")
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def orgs_create(name, realm_name, display_name, domains, auto_join, default_role, as_json):
        """Create organization NAME (a slug: lower-case letters, digits, dashes)."""
        from ..services.organizations import create_organization

        organization = create_organization(realm_lookup(realm_name), name, display_name=display_name,
                                           domains=list(domains), auto_join=auto_join, default_role=default_role)
        commit()
        printer(organization_json(organization), as_json)

    @orgs.command("list")
    @realm_option
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def orgs_list(realm_name, as_json):
        from ..services.organizations import list_organizations

        rows = [organization_json(o) for o in list_organizations(realm_lookup(realm_name))]
        if as_json:
            printer(rows, True)
            return
        for row in rows:
            click.echo(f"{row['name']}  {row['id']}  {row['display_name']}")

    @orgs.command("show")
    @click.argument("organization")
    @realm_option
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def orgs_show(organization, realm_name, as_json):
        """Show ORGANIZATION (name or id) with its members."""
        from ..services.organizations import list_members

        org = _org(realm_name, organization)
        data = {**organization_json(org), "members": [member_json(m) for m in list_members(org)]}
        if as_json:
            printer(data, True)
            return
        for key in ("id", "name", "display_name", "default_role", "created_at"):
            click.echo(f"{key}: {data[key]}")
        click.echo("domains: " + (", ".join(f"{d['domain']}{' (auto-join)' if d['auto_join'] else ''}"
                                            for d in data["domains"]) or "none"))
        click.echo(f"members: {len(data['members'])}")
        for member in data["members"]:
            click.echo(f"  {member['email']}  {','.join(member['roles']) or '-'}")

    @orgs.command("set")
    @click.argument("organization")
    @realm_option
    @click.option("--display-name", default=None)
    @click.option("--default-role", default=None, help="--default-role '' removes it.")
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def orgs_set(organization, realm_name, display_name, default_role, as_json):
        """Change ORGANIZATION's display name or default role."""
        from ..services.organizations import update_organization

        org = update_organization(_org(realm_name, organization), display_name=display_name,
                                  default_role=default_role)
        commit()
        printer(organization_json(org), as_json)

    @orgs.command("delete")
    @click.argument("organization")
    @realm_option
    @with_app()
    def orgs_delete(organization, realm_name):
        """Delete ORGANIZATION with its memberships and invitations."""
        from ..services.organizations import delete_organization

        org = _org(realm_name, organization)
        name = org.name
        delete_organization(org)
        commit()
        click.echo(f"deleted organization {name}")

    @orgs.group("domains")
    def domains():
        """Verified email domains of an organization."""

    @domains.command("add")
    @click.argument("organization")
    @click.argument("domain")
    @realm_option
    @click.option("--auto-join/--no-auto-join", default=False,
                  help="Users with a verified address at DOMAIN join automatically.")
    @with_app()
    def domains_add(organization, domain, realm_name, auto_join):
        from ..services.organizations import add_domain

        row = add_domain(_org(realm_name, organization), domain, auto_join=auto_join)
        commit()
        click.echo(f"{row.domain} added to {organization}{' (auto-join)' if row.auto_join else ''}")

    @domains.command("remove")
    @click.argument("organization")
    @click.argument("domain")
    @realm_option
    @with_app()
    def domains_remove(organization, domain, realm_name):
        from ..services.organizations import remove_domain

        remove_domain(_org(realm_name, organization), domain)
        commit()
        click.echo(f"{domain} removed from {organization}")

    @orgs.group("members")
    def members():
        """Members of an organization and their roles."""

    @members.command("list")
    @click.argument("organization")
    @realm_option
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def members_list(organization, realm_name, as_json):
        from ..services.organizations import list_members

        rows = [member_json(m) for m in list_members(_org(realm_name, organization))]
        if as_json:
            printer(rows, True)
            return
        for row in rows:
            click.echo(f"{row['email']}  {','.join(row['roles']) or '-'}")

    @members.command("add")
    @click.argument("organization")
    @click.argument("email")
    @realm_option
    @click.option("--role", "roles", multiple=True, help=ROLE_HELP)
    @with_app()
    def members_add(organization, email, realm_name, roles):
        """Make the user EMAIL (or id) a member of ORGANIZATION."""
        from ..services.organizations import add_member

        membership = add_member(_org(realm_name, organization), _user(realm_name, email), roles=list(roles))
        commit()
        click.echo(f"{membership.user.email} is a member of {organization}"
                   f" ({', '.join(r.name for r in membership.roles) or 'no role'})")

    @members.command("remove")
    @click.argument("organization")
    @click.argument("email")
    @realm_option
    @with_app()
    def members_remove(organization, email, realm_name):
        from ..services.organizations import remove_member

        user = _user(realm_name, email)
        remove_member(_org(realm_name, organization), user)
        commit()
        click.echo(f"{user.email} removed from {organization}")

    @members.command("set-role")
    @click.argument("organization")
    @click.argument("email")
    @realm_option
    @click.option("--role", "roles", multiple=True, help=ROLE_HELP + " Replaces the member's roles; none: no role.")
    @with_app()
    def members_set_role(organization, email, realm_name, roles):
        """Replace the roles of member EMAIL in ORGANIZATION."""
        from ..services.organizations import set_member_roles

        membership = set_member_roles(_org(realm_name, organization), _user(realm_name, email), list(roles))
        commit()
        click.echo(f"{membership.user.email} in {organization}: {', '.join(r.name for r in membership.roles) or 'no role'}")

    @orgs.command("invite")
    @click.argument("organization")
    @realm_option
    @click.option("--email", required=True, help="Whom to invite (an account is made for a new address).")
    @click.option("--role", default=None, help="The role they get (default: the organization's default role).")
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def orgs_invite(organization, realm_name, email, role, as_json):
        """Mail EMAIL an invitation to join ORGANIZATION (single use, valid 72 hours). The link
        points at [server] public_url (else the development address)."""
        from flask import current_app

        from ..public_address import development_public_url
        from .invitations import invite

        settings = current_app.extensions["idp.settings"].server
        base_url = settings.public_url or development_public_url(settings.host, settings.port)[0]
        org = _org(realm_name, organization)
        with current_app.test_request_context(base_url=base_url):
            invitation = invite(org, email, role=role, invited_by="cli")
            commit()
        if as_json:
            printer(invitation_json(invitation), True)
            return
        click.echo(f"invitation to {org.name} mailed to {invitation.email} (expires {invitation.expires_at:%Y-%m-%d %H:%M} UTC)")

    @orgs.command("invitations")
    @click.argument("organization")
    @realm_option
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def orgs_invitations(organization, realm_name, as_json):
        """List ORGANIZATION's invitations, newest first."""
        from ..services.organizations import list_invitations

        rows = [invitation_json(i) for i in list_invitations(_org(realm_name, organization))]
        if as_json:
            printer(rows, True)
            return
        for row in rows:
            click.echo(f"{row['id']}  {row['email']}  {row['role'] or '-'}  {row['status']}")

    # --- idp roles ------------------------------------------------------------------------------

    @main.group()
    def roles():
        """Roles: named sets of permissions, given to users for the realm or inside organizations."""

    @roles.command("create")
    @click.argument("name")
    @realm_option
    @click.option("--permission", "permissions", multiple=True, metavar="PERMISSION",
                  help="A permission the role grants, such as invoices:read (repeatable).")
    @click.option("--description", default=None)
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def roles_create(name, realm_name, permissions, description, as_json):
        """Create role NAME."""
        from ..services.roles import create_role

        role = create_role(realm_lookup(realm_name), name, permissions=list(permissions), description=description)
        commit()
        printer(role_json(role), as_json)

    @roles.command("list")
    @realm_option
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def roles_list(realm_name, as_json):
        from ..services.roles import list_roles

        rows = [role_json(r) for r in list_roles(realm_lookup(realm_name))]
        if as_json:
            printer(rows, True)
            return
        for row in rows:
            click.echo(f"{row['name']}  {' '.join(row['permissions']) or '-'}")

    @roles.command("show")
    @click.argument("name")
    @realm_option
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def roles_show(name, realm_name, as_json):
        from ..services.roles import get_role, users_with_role

        role = get_role(realm_lookup(realm_name), name)
        printer({**role_json(role), "users": [u.email for u in users_with_role(role)]}, as_json)

    @roles.command("set")
    @click.argument("name")
    @realm_option
    @click.option("--permission", "permissions", multiple=True, metavar="PERMISSION",
                  help="Replaces the role's permissions (repeatable).")
    @click.option("--add-permission", "added", multiple=True, metavar="PERMISSION")
    @click.option("--remove-permission", "removed", multiple=True, metavar="PERMISSION")
    @click.option("--description", default=None)
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def roles_set(name, realm_name, permissions, added, removed, description, as_json):
        """Change role NAME's permissions or description."""
        from ..services.roles import get_role, update_role

        role = update_role(get_role(realm_lookup(realm_name), name), permissions=list(permissions) or None,
                           add_permissions=added, remove_permissions=removed, description=description)
        commit()
        printer(role_json(role), as_json)

    @roles.command("delete")
    @click.argument("name")
    @realm_option
    @with_app()
    def roles_delete(name, realm_name):
        """Delete role NAME; users and members holding it lose it."""
        from ..services.roles import delete_role, get_role

        delete_role(get_role(realm_lookup(realm_name), name))
        commit()
        click.echo(f"deleted role {name}")

    @roles.command("assign")
    @click.argument("name")
    @click.argument("email")
    @realm_option
    @with_app()
    def roles_assign(name, email, realm_name):
        """Give the user EMAIL (or id) the realm role NAME."""
        from ..services.roles import assign_role, get_role

        user = _user(realm_name, email)
        changed = assign_role(user, get_role(realm_lookup(realm_name), name))
        commit()
        click.echo(f"{user.email} {'now has' if changed else 'already had'} role {name}")

    @roles.command("unassign")
    @click.argument("name")
    @click.argument("email")
    @realm_option
    @with_app()
    def roles_unassign(name, email, realm_name):
        """Take the realm role NAME away from the user EMAIL."""
        from ..services.roles import get_role, unassign_role

        user = _user(realm_name, email)
        changed = unassign_role(user, get_role(realm_lookup(realm_name), name))
        commit()
        click.echo(f"{user.email} {'no longer has' if changed else 'did not have'} role {name}")
