"""An administrator invites someone by mail to an organization with a role. The link works
once and for 72 hours; a new invitee chooses a password first; everyone logs in as the invited
account (with the realm's second factor) and only then joins."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest

from idp.extensions import db
from idp.models import OrganizationInvitation, utcnow
from idp.services import organizations as orgs
from idp.services import roles
from idp.services.users import get_user

from ..flows import HostedLogin
from ..helpers import PASSWORD

LINK = re.compile(r"https?://[^\s\"<>]+/organization-invitations/[A-Za-z0-9_-]+")


@pytest.fixture
def globex(app, factory):
    realm = factory.realm("acme")
    factory.user(realm, email="alice@example.com", email_verified=True)
    roles.create_role(realm, "billing", permissions=["invoices:read"])
    organization = orgs.create_organization(realm, "globex", display_name="Globex")
    db.session.commit()
    return organization


def _invite(app, organization, email, role="billing"):
    from idp.organizations.invitations import invite

    with app.test_request_context():
        invite(organization, email, role=role, invited_by="admin@example.com")
        db.session.commit()


def _link(mailbox, email) -> str:
    """The path of the link in the invitation mail."""
    message = mailbox.last(email, about="You are invited to join Globex")
    return urlsplit(LINK.search(message["text"]).group(0)).path


def _membership(realm, email):
    db.session.expire_all()
    return orgs.find_membership(orgs.get_organization(realm, "globex"), get_user(realm, email))


def test_a_new_invitee_chooses_a_password_logs_in_and_joins_with_the_role(app, globex, mailbox):
    _invite(app, globex, "new@example.com")
    browser = HostedLogin(app.test_client(), "acme", None)

    browser.get(_link(mailbox, "new@example.com"))
    assert "Choose your password" in browser.page and "Globex" in browser.page
    assert _membership(globex.realm, "new@example.com") is None, "nobody joins by opening a link"
    browser.submit({"password": PASSWORD})
    assert 'value="new@example.com"' in browser.page, "the login page, for the invited account"
    browser.log_in("new@example.com")
    assert "Join Globex" in browser.page
    browser.submit({})

    assert "Welcome to Globex" in browser.page
    membership = _membership(globex.realm, "new@example.com")
    assert [r.name for r in membership.roles] == ["billing"] and membership.joined_via == "invitation"
    assert get_user(globex.realm, "new@example.com").email_verified, "the link proved the address"
    browser.get(_link(mailbox, "new@example.com"))
    assert browser.response.status_code == 400 and "already used" in browser.page


def test_an_existing_user_logs_in_to_accept(app, globex, mailbox):
    _invite(app, globex, "alice@example.com")
    browser = HostedLogin(app.test_client(), "acme", None)

    browser.get(_link(mailbox, "alice@example.com"))
    assert "Log in to accept" in browser.page
    browser.submit({})
    browser.log_in("alice@example.com")
    browser.submit({})

    assert "Welcome to Globex" in browser.page
    assert _membership(globex.realm, "alice@example.com") is not None


def test_someone_signed_in_as_another_account_must_log_in_as_the_invited_one(app, globex, mailbox, factory):
    factory.user(globex.realm, email="mallory@example.com")
    _invite(app, globex, "alice@example.com")
    browser = HostedLogin(app.test_client(), "acme", None)
    browser.get("/realms/acme/account")
    browser.log_in("mallory@example.com")

    browser.get(_link(mailbox, "alice@example.com"))
    assert "You are signed in as mallory@example.com" in browser.page
    browser.submit({})

    assert "Log in" in browser.page and _membership(globex.realm, "mallory@example.com") is None
    assert _membership(globex.realm, "alice@example.com") is None


@pytest.mark.parametrize("how, message", [
    ("expired", "has expired"),
    ("made_up", "not valid"),
    ("replaced", "has expired"),
])
def test_a_link_that_is_not_fresh_is_a_clear_page(app, globex, mailbox, how, message):
    _invite(app, globex, "alice@example.com")
    link = _link(mailbox, "alice@example.com")
    if how == "expired":
        db.session.execute(db.update(OrganizationInvitation).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
    elif how == "made_up":
        link = link.rsplit("/", 1)[0] + "/" + "A" * 43
    else:
        _invite(app, globex, "alice@example.com")

    response = app.test_client().get(link)

    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_inviting_a_member_is_refused(app, globex, factory):
    orgs.add_member(globex, get_user(globex.realm, "alice@example.com"))
    db.session.commit()

    with pytest.raises(orgs.ServiceError, match="already a member"):
        _invite(app, globex, "alice@example.com")


def test_someone_who_registers_at_an_auto_join_domain_joins_when_the_address_is_verified(app, globex, mailbox,
                                                                                       factory):
    orgs.add_domain(globex, "globex.example", auto_join=True)
    db.session.commit()
    client_id, secret = factory.client(globex.realm)
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.authorize()

    login.register("dana@globex.example")
    assert orgs.list_members(globex) == [], "not before the address is proven"
    login.open_mailed_link(mailbox.link("dana@globex.example", about="Verify"))

    assert _membership(globex.realm, "dana@globex.example").joined_via == "domain"
