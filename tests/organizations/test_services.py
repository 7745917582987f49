"""Organizations, memberships and roles as the CLI, console, API and SCIM use them: the rules
(names, permissions, domains), and that deleting either side of a membership cleans it up."""
from __future__ import annotations

import pytest

from idp.extensions import db
from idp.models import AuditEvent, Membership, OrganizationInvitation, Role
from idp.models.organization import membership_roles, user_roles
from idp.services import ServiceError
from idp.services import organizations as orgs
from idp.services import roles
from idp.services.users import delete_user, update_user


@pytest.fixture
def realm(factory):
    return factory.realm("acme")


def _events(realm):
    return [e.event_type for e in db.session.scalars(db.select(AuditEvent).filter_by(realm_id=realm.id)
                                                     .order_by(AuditEvent.id))]


def test_a_role_is_a_named_sorted_set_of_permissions(realm):
    role = roles.create_role(realm, "Billing-Admin", permissions=["invoices:write", "invoices:read", "invoices:read"],
                             description="Pays the bills")
    db.session.commit()

    assert role.name == "billing-admin"
    assert role.permissions == ["invoices:read", "invoices:write"]
    roles.update_role(role, add_permissions=["reports"], remove_permissions=["invoices:write"])
    assert roles.get_role(realm, "billing-admin").permissions == ["invoices:read", "reports"]
    assert {"role.created", "role.updated"} <= set(_events(realm))


@pytest.mark.parametrize("permission", ["invoices read", "", "a:b:c:d:e:f:g", "x" * 101, "invoices:read\x00x", "a\tb",
                                        "über:read", "invoices::read", ":read"])
def test_a_permission_of_the_wrong_shape_is_refused_and_nothing_is_stored(realm, permission):
    if not permission.strip():
        assert roles.create_role(realm, "empty", permissions=[permission]).permissions == []
        return
    with pytest.raises(ServiceError, match="not a valid permission"):
        roles.create_role(realm, "viewer", permissions=["ok:read", permission])
    db.session.rollback()
    assert roles.find_role(realm, "viewer") is None


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "Ünï"])
def test_role_and_organization_names_are_slugs(realm, name):
    with pytest.raises(ServiceError):
        roles.create_role(realm, name)
    with pytest.raises(ServiceError):
        orgs.create_organization(realm, name)


def test_names_are_unique_per_realm(realm, factory):
    orgs.create_organization(realm, "globex", display_name="Globex Corp.")
    roles.create_role(realm, "viewer")
    with pytest.raises(ServiceError, match="already exists"):
        orgs.create_organization(realm, "GLOBEX")
    with pytest.raises(ServiceError, match="already exists"):
        roles.create_role(realm, "viewer")
    other = factory.realm("other")
    assert orgs.create_organization(other, "globex").realm_id == other.id


def test_a_user_belongs_to_several_organizations_with_roles_in_each(realm, factory):
    alice = factory.user(realm)
    viewer = roles.create_role(realm, "viewer", permissions=["invoices:read"])
    roles.create_role(realm, "admin", permissions=["invoices:read", "invoices:write"])
    globex = orgs.create_organization(realm, "globex")
    initech = orgs.create_organization(realm, "initech")
    orgs.add_member(globex, alice, roles=["admin"])
    orgs.add_member(initech, alice, roles=[viewer])
    db.session.commit()

    assert [(m.organization.name, [r.name for r in m.roles]) for m in orgs.memberships_of(alice)] == [
        ("globex", ["admin"]), ("initech", ["viewer"])]
    assert orgs.get_membership(globex, alice).permissions == ["invoices:read", "invoices:write"]
    orgs.set_member_roles(initech, alice, ["viewer", "admin"])
    assert [r.name for r in orgs.get_membership(initech, alice).roles] == ["admin", "viewer"]
    with pytest.raises(ServiceError, match="already a member"):
        orgs.add_member(globex, alice)
    with pytest.raises(ServiceError, match="does not exist"):
        orgs.set_member_roles(globex, alice, ["nope"])
    orgs.remove_member(initech, alice)
    assert [m.organization.name for m in orgs.memberships_of(alice)] == ["globex"]
    assert {"organization.member_added", "organization.member_roles_changed",
            "organization.member_removed"} <= set(_events(realm))


def test_realm_roles_are_given_to_users_directly(realm, factory):
    alice = factory.user(realm)
    admin = roles.create_role(realm, "admin", permissions=["users:manage"])
    assert roles.assign_role(alice, admin) is True
    assert roles.assign_role(alice, admin) is False
    assert [r.name for r in roles.realm_roles_of(alice)] == ["admin"]
    assert roles.unassign_role(alice, admin) is True
    assert roles.realm_roles_of(alice) == []


def test_deleting_an_organization_a_role_or_a_user_deletes_their_memberships(realm, factory):
    alice, bob = factory.user(realm), factory.user(realm, email="bob@example.com")
    viewer = roles.create_role(realm, "viewer", permissions=["invoices:read"])
    roles.create_role(realm, "admin")
    globex = orgs.create_organization(realm, "globex", domains=["globex.example"], default_role="viewer")
    initech = orgs.create_organization(realm, "initech")
    orgs.add_member(globex, alice, roles=["viewer", "admin"])
    orgs.add_member(initech, alice, roles=["viewer"])
    orgs.add_member(globex, bob, roles=["viewer"])
    roles.assign_role(alice, viewer)
    orgs.invite_to_organization(globex, "carol@example.com", role="viewer")
    db.session.commit()

    roles.delete_role(viewer)
    db.session.commit()
    db.session.expire_all()
    assert [r.name for r in orgs.get_membership(globex, alice).roles] == ["admin"]
    assert globex.default_role_id is None
    assert db.session.scalar(db.select(OrganizationInvitation)).role_id is None
    assert db.session.scalar(db.select(db.func.count()).select_from(user_roles)) == 0

    orgs.delete_organization(globex)
    db.session.commit()
    assert [m.organization.name for m in db.session.scalars(db.select(Membership))] == ["initech"]
    assert db.session.scalar(db.select(db.func.count(OrganizationInvitation.id))) == 0

    delete_user(alice)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Membership.id))) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(membership_roles)) == 0
    assert orgs.list_members(initech) == []


def test_a_domain_belongs_to_one_organization_of_a_realm(realm):
    globex = orgs.create_organization(realm, "globex", domains=["Globex.Example."])
    initech = orgs.create_organization(realm, "initech")
    assert [d.domain for d in globex.domains] == ["globex.example"]
    with pytest.raises(ServiceError, match="another organization"):
        orgs.add_domain(initech, "globex.example")
    with pytest.raises(ServiceError, match="not a domain"):
        orgs.add_domain(initech, "not a domain")
    orgs.remove_domain(globex, "globex.example")
    assert orgs.add_domain(initech, "globex.example").organization_id == initech.id


def test_a_verified_address_at_an_auto_join_domain_joins_with_the_default_role(realm, factory):
    roles.create_role(realm, "member", permissions=["docs:read"])
    globex = orgs.create_organization(realm, "globex", default_role="member")
    orgs.add_domain(globex, "globex.example", auto_join=True)
    orgs.create_organization(realm, "initech", domains=["initech.example"])  # no auto-join
    unverified = factory.user(realm, email="eve@globex.example", email_verified=False)
    verified = factory.user(realm, email="dana@globex.example", email_verified=True)
    initech_user = factory.user(realm, email="ian@initech.example", email_verified=True)

    assert orgs.auto_join(unverified) is None
    assert orgs.auto_join(initech_user) is None
    membership = orgs.auto_join(verified)
    assert membership.joined_via == "domain" and [r.name for r in membership.roles] == ["member"]
    assert orgs.auto_join(verified) is None, "once"
    update_user(unverified, email_verified=True)
    assert [o.name for o in orgs.organizations_open_to(unverified)] == ["globex"]


def test_an_invitation_is_stored_hashed_works_once_and_for_its_account_only(realm, factory):
    roles.create_role(realm, "viewer")
    globex = orgs.create_organization(realm, "globex")
    bob = factory.user(realm, email="bob@example.com")
    invitation, token = orgs.invite_to_organization(globex, "new@example.com", role="viewer", invited_by="ops")
    db.session.commit()

    assert token not in invitation.token_digest
    assert invitation.user.password_hash is None, "an account for the invitee, without a password"
    found = orgs.find_invitation(realm, token)
    with pytest.raises(orgs.InvitationInvalid, match="another account"):
        orgs.accept_invitation(found, bob)
    membership = orgs.accept_invitation(found, invitation.user)
    db.session.commit()
    assert [r.name for r in membership.roles] == ["viewer"] and membership.joined_via == "invitation"
    with pytest.raises(orgs.InvitationInvalid, match="already used"):
        orgs.find_invitation(realm, token)
    for bad in ["", "x" * 500, "unknown"]:
        with pytest.raises(orgs.InvitationInvalid, match="not valid"):
            orgs.find_invitation(realm, bad)


def test_a_new_invitation_replaces_the_earlier_one(realm):
    globex = orgs.create_organization(realm, "globex")
    _, first = orgs.invite_to_organization(globex, "new@example.com")
    _, second = orgs.invite_to_organization(globex, "new@example.com")
    db.session.commit()
    with pytest.raises(orgs.InvitationInvalid, match="expired"):
        orgs.find_invitation(realm, first)
    assert orgs.find_invitation(realm, second)


def test_invitations_past_their_expiry_are_purged(app, realm):
    import datetime as dt

    from idp.models import utcnow
    from idp.services.purge import purge_expired

    globex = orgs.create_organization(realm, "globex")
    old, _ = orgs.invite_to_organization(globex, "old@example.com")
    orgs.invite_to_organization(globex, "new@example.com")
    old.expires_at = utcnow() - dt.timedelta(hours=1)
    db.session.commit()

    counts = purge_expired(app.extensions["idp.settings"])

    assert counts["organization_invitations"] == 1
    assert [i.email for i in orgs.list_invitations(globex)] == ["new@example.com"]
