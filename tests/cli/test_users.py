"""`idp users create|list|show|set|delete` with ``--email``, ``--password``, ``--name``."""
from __future__ import annotations

import pytest

from ..flows import what_still_works
from ..helpers import PASSWORD
from .conftest import assert_one_line_error


def test_admin_creates_a_user_in_the_default_realm(idp):
    created = idp("users", "create", "--email", "bob@example.com", "--password", PASSWORD, "--name", "Bob", "--json")

    assert (created["email"], created["name"], created["email_verified"]) == ("bob@example.com", "Bob", False)
    assert len(created["id"]) == 32
    assert [u["email"] for u in idp("users", "list", "--json")] == ["bob@example.com"]


def test_password_can_come_from_standard_input(runner, idp):
    result = runner("users", "create", "--email", "bob@example.com", "--password", "-", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


def test_created_user_can_log_in_with_that_password(idp, alice, runner, app):
    from idp.services.realms import get_realm
    from idp.services.users import authenticate_password

    with app.app_context():
        assert authenticate_password(get_realm("acme"), "alice@example.com", PASSWORD).id == alice["id"]
        assert authenticate_password(get_realm("acme"), "alice@example.com", "wrong password") is None


def test_users_are_listed_per_realm_and_shown_by_email_or_id(idp, alice, acme):
    idp("users", "create", "--email", "bob@example.com", "--password", PASSWORD)

    assert [u["email"] for u in idp("users", "list", "--realm", acme, "--json")] == ["alice@example.com"]
    assert [u["email"] for u in idp("users", "list", "--json")] == ["bob@example.com"]
    assert idp("users", "show", "alice@example.com", "--realm", acme, "--json")["id"] == alice["id"]
    assert idp("users", "show", alice["id"], "--realm", acme, "--json")["email"] == "alice@example.com"
    assert "alice@example.com" in idp("users", "list", "--realm", acme)


def test_admin_changes_a_users_name_email_and_verification(idp, alice, acme):
    changed = idp("users", "set", "alice@example.com", "--realm", acme, "--name", "Alice L.",
                  "--new-email", "alice@wonderland.example", "--email-verified", "on", "--json")

    assert (changed["name"], changed["email"], changed["email_verified"]) == ("Alice L.", "alice@wonderland.example", True)
    assert changed["id"] == alice["id"]


def test_admin_sets_a_new_password(idp, alice, acme, app):
    from idp.services.realms import get_realm
    from idp.services.users import authenticate_password

    idp("users", "set", "alice@example.com", "--realm", acme, "--password", "a brand new passphrase")

    with app.app_context():
        assert authenticate_password(get_realm("acme"), "alice@example.com", "a brand new passphrase") is not None
        assert authenticate_password(get_realm("acme"), "alice@example.com", PASSWORD) is None


def test_deleted_user_is_gone(runner, idp, alice, acme):
    assert "deleted user alice@example.com" in idp("users", "delete", "alice@example.com", "--realm", acme)
    assert idp("users", "list", "--realm", acme, "--json") == []
    assert_one_line_error(runner("users", "show", "alice@example.com", "--realm", acme), "does not exist")


BAD_USERS = [
    (("users", "create", "--realm", "nope", "--email", "x@example.com", "--password", PASSWORD), "realm 'nope' does not exist"),
    (("users", "create", "--realm", "acme", "--email", "alice@example.com", "--password", PASSWORD), "already exists"),
    (("users", "create", "--realm", "acme", "--email", "ALICE@EXAMPLE.COM", "--password", PASSWORD), "already exists"),
    (("users", "create", "--email", "x@example.com", "--password", "password"), "too common"),
    (("users", "create", "--email", "x@example.com", "--password", "short"), "at least 8 characters"),
    (("users", "create", "--email", "x@example.com", "--password", "x@example.com"), "must not be your email"),
    (("users", "create", "--email", "not-an-email", "--password", PASSWORD), "valid email address"),
    (("users", "create", "--email", "x@example.com"), "give --password"),
    (("users", "create", "--password", PASSWORD), "Missing option '--email'"),
    (("users", "show", "nobody@example.com"), "user 'nobody@example.com' does not exist in realm 'default'"),
    (("users", "show", "alice@example.com"), "does not exist in realm 'default'"),
    (("users", "set", "nobody@example.com", "--name", "X"), "does not exist"),
    (("users", "set", "alice@example.com", "--realm", "acme", "--password", "12345678"), "too common"),
    (("users", "set", "alice@example.com", "--realm", "acme", "--new-email", "broken"), "valid email address"),
    (("users", "set", "alice@example.com", "--realm", "acme", "--name", "x" * 201), "at most 200 characters"),
    (("users", "create", "--email", "x@example.com", "--password", PASSWORD, "--name", "x" * 201), "at most 200 characters"),
    (("users", "set", "alice@example.com", "--realm", "acme", "--disabled", "maybe"), "'--disabled'"),
    (("users", "set", "alice@example.com", "--realm", "acme", "--email-verified", "yes"), "'--email-verified'"),
    (("users", "delete", "nobody@example.com"), "does not exist"),
    (("users", "list", "--realm", "nope"), "realm 'nope' does not exist"),
]


@pytest.mark.parametrize(("args", "message"), BAD_USERS, ids=[" ".join(a[:2]) + ": " + m for a, m in BAD_USERS])
def test_bad_user_input_fails_with_one_line(runner, alice, args, message):
    assert_one_line_error(runner(*args), message)


def test_a_failed_change_changes_nothing(runner, idp, alice, acme):
    idp("users", "create", "--realm", acme, "--email", "bob@example.com", "--password", PASSWORD)
    result = runner("users", "set", "alice@example.com", "--realm", acme, "--name", "Changed", "--new-email", "bob@example.com")
    assert_one_line_error(result, "already exists")
    assert idp("users", "show", "alice@example.com", "--realm", acme, "--json")["name"] == "Alice"


def test_non_ascii_address_is_found_whatever_case_width_or_domain_spelling_it_is_typed_in(idp, runner, acme):
    """On SQLite ``lower()`` folds ASCII only: ``Émile@`` was created but never found again."""
    created = idp("users", "create", "--realm", acme, "--email", "Émile@Example.com", "--password", PASSWORD, "--json")
    assert created["email"] == "Émile@example.com", "kept as typed, the domain lower-cased"
    for typed in ("Émile@example.com", "émile@example.com", "ÉMILE@EXAMPLE.COM", "Éｍｉｌｅ@ｅｘａｍｐｌｅ.ｃｏｍ"):
        assert idp("users", "show", typed, "--realm", acme, "--json")["id"] == created["id"], typed
    assert [u["id"] for u in idp("users", "list", "--realm", acme, "--email", "ÉMILE", "--json")] == [created["id"]]

    anna = idp("users", "create", "--realm", acme, "--email", "anna@xn--bcher-kva.example", "--password", PASSWORD,
               "--json")
    assert idp("users", "show", "Anna@BÜCHER.example", "--realm", acme, "--json")["id"] == anna["id"]


@pytest.mark.parametrize("typed", ["émile@example.com", "ÉMILE@EXAMPLE.COM", "Éｍｉｌｅ@ｅｘａｍｐｌｅ.ｃｏｍ"])
def test_second_account_for_one_non_ascii_mailbox_is_refused(idp, runner, acme, typed):
    idp("users", "create", "--realm", acme, "--email", "Émile@Example.com", "--password", PASSWORD)
    assert_one_line_error(runner("users", "create", "--realm", acme, "--email", typed, "--password", PASSWORD),
                          "already exists")
    assert_one_line_error(runner("users", "set", "alice@example.com", "--realm", acme, "--new-email", typed),
                          "already exists")
    assert [u["email"] for u in idp("users", "list", "--realm", acme, "--json")] == [
        "alice@example.com", "Émile@example.com"]


def test_changing_only_the_case_of_an_address_keeps_it_verified(idp, acme):
    idp("users", "create", "--realm", acme, "--email", "émile@example.com", "--password", PASSWORD, "--email-verified")
    changed = idp("users", "set", "émile@example.com", "--realm", acme, "--new-email", "Émile@example.com", "--json")
    assert (changed["email"], changed["email_verified"]) == ("Émile@example.com", True), "the same mailbox"


@pytest.fixture
def alice_signed_in(app, acme):
    """Alice logged in to an app of acme in a browser: a session cookie, an access and a refresh token."""
    from idp.services.realms import get_realm

    from ..flows import signed_in_with_tokens
    from ..helpers import Factory

    with app.app_context():
        client_id, secret = Factory(app).client(get_realm(acme))
    return signed_in_with_tokens(app.test_client(), acme, client_id, secret)


def test_password_set_by_an_administrator_logs_the_user_out_of_every_browser_and_app(idp, alice_signed_in, acme,
                                                                                     app):
    """Someone who knew the old password keeps no session or token after the admin changes it."""
    idp("users", "set", "alice@example.com", "--realm", acme, "--password", "a brand new passphrase")
    ended = {"session": False, "access_token": False, "refresh_token": False}
    assert what_still_works(*alice_signed_in) == ended
    assert _audited(app, "user.signed_out_everywhere") == [
        {"reason": "admin", "sessions": 1, "logins": 0, "tokens": 1, "remembered_devices": 0}]


def test_administrator_may_keep_the_sessions_when_setting_a_password(idp, alice_signed_in, acme, app):
    idp("users", "set", "alice@example.com", "--realm", acme, "--password", "a brand new passphrase", "--keep-sessions")
    assert what_still_works(*alice_signed_in) == {"session": True, "access_token": True, "refresh_token": True}
    assert _audited(app, "user.password_changed")[-1] == {"reason": "admin", "kept_sessions": True}
    assert _audited(app, "user.signed_out_everywhere") == []


def test_keep_sessions_needs_a_password(runner, alice, acme):
    result = runner("users", "set", "alice@example.com", "--realm", acme, "--keep-sessions")
    assert result.exit_code == 2 and "--keep-sessions goes with --password" in result.stderr


def _audited(app, event_type):
    from idp.extensions import db
    from idp.models import AuditEvent

    with app.app_context():
        return [row.details for row in db.session.scalars(
            db.select(AuditEvent).filter_by(event_type=event_type).order_by(AuditEvent.id))]
