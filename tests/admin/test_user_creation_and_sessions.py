"""A support person creates users in the console (an invitation by mail, or an initial password
under the realm's policy) and ends a user's browser sessions, one or all."""
from __future__ import annotations

import pytest

from ..flows import HostedLogin, signed_in_with_tokens, what_still_works
from ..helpers import PASSWORD
from .conftest import user_id


def _user(in_app, email, realm="acme"):
    from idp.services.realms import get_realm
    from idp.services.users import find_user_by_email

    with in_app():
        user = find_user_by_email(get_realm(realm), email)
        return None if user is None else {"has_password": user.password_hash is not None,
                                          "email_verified": user.email_verified, "name": user.name}


def test_an_invited_user_chooses_a_password_through_the_mailed_link_and_logs_in(
        console, target_realm, in_app, mailbox, app, audit_events):
    realm = target_realm()
    browser = console("operator")
    browser.get("/admin/realms/acme/users")
    assert "Create user" in browser.text()
    browser.get("/admin/realms/acme/users/new")
    browser.post("/admin/realms/acme/users/new", {"email": "carol@example.com", "name": "Carol",
                                                   "password_choice": "invite"})
    assert browser.status == 200 and "carol@example.com was created and invited by mail" in browser.text()
    assert _user(in_app, "carol@example.com") == {"has_password": False, "email_verified": False, "name": "Carol"}
    assert audit_events("user.invited")[-1][0]["invited_by"] == "operator@example.com"

    link = mailbox.link("carol@example.com", about="You are invited")
    person = HostedLogin(app.test_client(), "acme", realm.client_id, realm.client_secret)
    person.get(link)
    assert "Choose your password" in person.page and "carol@example.com" in person.page
    person.submit({"password": "short"})
    assert person.response.status_code == 400
    assert _user(in_app, "carol@example.com")["has_password"] is False
    person.submit({"password": PASSWORD})
    assert "Your account is ready" in person.page
    assert _user(in_app, "carol@example.com") == {"has_password": True, "email_verified": True, "name": "Carol"}

    person.get(link)
    assert person.response.status_code == 400 and "already used" in person.page
    login = HostedLogin(app.test_client(), "acme", realm.client_id, realm.client_secret)
    login.authorize()
    login.log_in("carol@example.com", PASSWORD)
    assert login.redirected_to_app


def test_a_user_created_with_an_initial_password_logs_in_with_it(console, target_realm, in_app, app):
    realm = target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme/users/new")
    browser.post("/admin/realms/acme/users/new", {"email": "dave@example.com", "password_choice": "password",
                                                   "password": PASSWORD, "email_verified": "y"})
    assert "dave@example.com was created with the password you set." in browser.text()
    assert _user(in_app, "dave@example.com") == {"has_password": True, "email_verified": True, "name": None}
    login = HostedLogin(app.test_client(), "acme", realm.client_id, realm.client_secret)
    login.authorize()
    login.log_in("dave@example.com", PASSWORD)
    assert login.redirected_to_app


@pytest.mark.parametrize("form, message", [
    ({"email": "erin@example.com", "password_choice": "password", "password": "password"},
     "too common"),
    ({"email": "erin@example.com", "password_choice": "password", "password": ""},
     "Enter the initial password, or send an invitation instead."),
    ({"email": "not-an-address", "password_choice": "invite"}, "Enter a valid email address."),
    ({"email": "alice@example.com", "password_choice": "invite"}, "An account with this email already exists."),
    ({"email": "", "password_choice": "invite"}, "Enter the user's email address."),
])
def test_a_refused_new_user_is_a_400_with_the_reason_and_nothing_is_created(
        console, target_realm, in_app, mailbox, form, message):
    target_realm()
    browser = console("owner")
    browser.get("/admin/realms/acme/users/new")
    browser.post("/admin/realms/acme/users/new", form)
    assert browser.status == 400 and message in browser.text(), browser.text()
    if form["email"] != "alice@example.com":
        assert _user(in_app, "erin@example.com") is None
    assert not mailbox.messages("erin@example.com")


def test_a_viewer_cannot_create_users(console, target_realm, in_app):
    target_realm()
    browser = console("viewer")
    browser.get("/admin/realms/acme/users")
    assert "Create user" not in browser.text()
    browser.post("/admin/realms/acme/users/new", {"email": "zed@example.com", "password_choice": "invite"})
    assert browser.status == 403 and _user(in_app, "zed@example.com") is None


def test_the_user_page_lists_sessions_and_ending_one_logs_that_browser_out(console, target_realm, in_app, app,
                                                                             audit_events):
    realm = target_realm()
    laptop, laptop_tokens = signed_in_with_tokens(app.test_client(), "acme", realm.client_id, realm.client_secret)
    phone, phone_tokens = signed_in_with_tokens(app.test_client(), "acme", realm.client_id, realm.client_secret)
    alice = user_id(in_app, "acme", "alice@example.com")
    browser = console("operator")
    browser.get(f"/admin/realms/acme/users/{alice}")
    assert browser.text().count("End session") == 2 and "Signed in" in browser.text()

    from idp.extensions import db
    from idp.models import BrowserSession

    with in_app():
        sids = [row.sid for row in db.session.scalars(db.select(BrowserSession).filter_by(user_id=alice)
                                                      .order_by(BrowserSession.id))]
    browser.post(f"/admin/realms/acme/users/{alice}/sessions/{sids[0]}/end")
    assert "The session of alice@example.com was ended." in browser.text()
    assert what_still_works(laptop, laptop_tokens) == {"session": False, "access_token": False,
                                                       "refresh_token": False}
    assert what_still_works(phone, phone_tokens) == {"session": True, "access_token": True, "refresh_token": True}
    assert audit_events("user.session_ended")[-1][0]["sid"] == sids[0]

    browser.post(f"/admin/realms/acme/users/{alice}/sessions/{sids[0]}/end")
    assert browser.status == 404

    browser.post(f"/admin/realms/acme/users/{alice}/sessions/end-all")
    assert "Ended 1 session of alice@example.com." in browser.text()
    assert "This user is not logged in anywhere." in browser.text()
    assert what_still_works(phone, phone_tokens)["session"] is False


def test_a_viewer_sees_sessions_but_cannot_end_them(console, target_realm, in_app, app):
    realm = target_realm()
    signed_in_with_tokens(app.test_client(), "acme", realm.client_id, realm.client_secret)
    alice = user_id(in_app, "acme", "alice@example.com")
    browser = console("viewer")
    browser.get(f"/admin/realms/acme/users/{alice}")
    assert "End session" not in browser.text() and "Signed in" in browser.text()
    browser.post(f"/admin/realms/acme/users/{alice}/sessions/end-all")
    assert browser.status == 403


def test_a_lost_invitation_is_sent_again_and_only_the_new_link_works(console, target_realm, in_app, mailbox, app):
    target_realm()
    browser = console("operator")
    browser.get("/admin/realms/acme/users/new")
    browser.post("/admin/realms/acme/users/new", {"email": "carol@example.com", "password_choice": "invite"})
    first = mailbox.link("carol@example.com", about="You are invited")
    carol = user_id(in_app, "acme", "carol@example.com")
    assert "Send the invitation again" in browser.text()

    browser.post(f"/admin/realms/acme/users/{carol}/invite")
    assert "A new invitation was mailed to carol@example.com." in browser.text()
    second = mailbox.link("carol@example.com", about="You are invited")
    assert second != first
    person = app.test_client()
    assert person.get(first).status_code == 400
    assert person.get(second).status_code == 200

    alice = user_id(in_app, "acme", "alice@example.com")
    browser.get(f"/admin/realms/acme/users/{alice}")
    assert "Send the invitation again" not in browser.text()
    browser.post(f"/admin/realms/acme/users/{alice}/invite")
    assert browser.status == 409 and "already has a password" in browser.text()
