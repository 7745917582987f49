"""Which of a login's commits wait for the disk (``idp.database.commit_keeping_loaded_state``).

A login just begun and a password step that moved the login on to its second factor change
nothing but the login's own progress: on PostgreSQL they commit with ``synchronous_commit``
off (a crash in that moment sends the person back one page). Everything else waits: the second
factor's step (its code is spent, the attempt counted, the session and the code made), a
password step that finishes the login, the code exchange."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from .. import databases
from .conftest import REALM, logged_in_claims

RELAXED = "SET LOCAL synchronous_commit TO off"


class StatementsPerRequest:
    """The SQL each request sent, by the order of the requests (``mark`` starts a new one)."""

    def __init__(self, app):
        from idp.extensions import db

        with app.app_context():
            self.engine = db.engine
        self.requests: list[tuple[str, list[str]]] = []
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def mark(self, label: str) -> None:
        self.requests.append((label, []))

    def _seen(self, _connection, _cursor, statement, *_args):
        if self.requests:
            self.requests[-1][1].append(statement)

    def relaxed(self, label: str) -> bool:
        return any(RELAXED in statement for name, statements in self.requests if name == label
                   for statement in statements)

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def statements(app):
    seen = StatementsPerRequest(app)
    yield seen
    seen.close()


@pytest.mark.skipif(not databases.postgres_mode(), reason="PostgreSQL's synchronous_commit; SQLite's commits are its own")
def test_only_a_logins_progress_commits_without_waiting_for_the_disk(realm_factory, user_factory, browser,
                                                                     statements):
    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    login = browser(realm)
    statements.mark("authorize")
    login.authorize()
    statements.mark("password")
    login.log_in()
    assert "Enter the code from your authenticator app" in login.page
    statements.mark("code")
    login.submit({"code": user.totp_code()})
    statements.mark("exchange")
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "otp"]

    assert statements.relaxed("authorize")
    assert statements.relaxed("password")
    assert not statements.relaxed("code")
    assert not statements.relaxed("exchange")


@pytest.mark.skipif(not databases.postgres_mode(), reason="PostgreSQL's synchronous_commit; SQLite's commits are its own")
def test_a_password_step_that_finishes_the_login_waits_for_the_disk(realm_factory, user_factory, browser,
                                                                    statements):
    realm = realm_factory(integration=False)
    user_factory(mfa=False)
    login = browser(realm)
    login.authorize()
    statements.mark("password")
    login.log_in()
    assert login.redirected_to_app
    assert not statements.relaxed("password")


def test_on_sqlite_nothing_is_relaxed(realm_factory, user_factory, browser, statements):
    if databases.postgres_mode():
        pytest.skip("SQLite only")
    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    login = browser(realm)
    statements.mark("all")
    login.authorize()
    login.log_in()
    login.submit({"code": user.totp_code()})
    assert login.redirected_to_app
    assert not statements.relaxed("all")


@pytest.mark.skipif(not databases.postgres_mode(), reason="PostgreSQL's synchronous_commit; SQLite's commits are its own")
def test_a_password_step_that_also_rehashes_the_password_waits_for_the_disk(realm_factory, user_factory, browser,
                                                                            statements, in_app):
    """The password is checked against a hash made with weaker settings and hashed again: an
    account's change, so that step's commit waits even though the login only moves on."""
    from argon2 import PasswordHasher

    from idp.extensions import db
    from idp.models import User

    from ..flows import PASSWORD

    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with in_app():
        db.session.get(User, user.id).password_hash = weak
        db.session.commit()
    login = browser(realm)
    login.authorize()
    statements.mark("password")
    login.log_in()
    assert "Enter the code from your authenticator app" in login.page
    assert not statements.relaxed("password")
    with in_app():
        assert db.session.get(User, user.id).password_hash not in (weak, None)


def test_a_password_reset_committed_while_a_login_checked_the_old_password_is_not_overwritten(
        realm_factory, user_factory, in_app):
    """A login verifies the old password against a hash made with weaker settings (tens of
    milliseconds) while the owner resets the password: the login's rehash of the old password
    must not replace the new one."""
    from argon2 import PasswordHasher

    from idp.extensions import db
    from idp.models import User
    from idp.security import hash_password, verify_password
    from idp.services import users as users_service
    from idp.services.realms import get_realm

    from ..flows import PASSWORD

    realm_factory(integration=False)
    user = user_factory(mfa=False)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with in_app():
        db.session.get(User, user.id).password_hash = weak
        db.session.commit()

    real_verify = users_service.verify_password

    def verify_while_the_owner_resets(password_hash, password):
        with in_app() as app:  # another request, its own session and commit
            with app.app_context():
                db.session.get(User, user.id).password_hash = hash_password("a brand new passphrase")
                db.session.commit()
        return real_verify(password_hash, password)

    with in_app():
        users_service.verify_password = verify_while_the_owner_resets
        try:
            logged_in = users_service.authenticate_password(get_realm(REALM), user.email, PASSWORD)
        finally:
            users_service.verify_password = real_verify
        assert logged_in is not None  # the old password was right when it was checked
        db.session.commit()
    with in_app():
        stored = db.session.get(User, user.id).password_hash
        assert verify_password(stored, "a brand new passphrase")
        assert not verify_password(stored, PASSWORD)
