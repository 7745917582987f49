"""The login's reads that run outside the request's session (``DirectStatement``) see what the
session's own query would: they are only used while the session has written nothing it has not
committed, and the instances they make behave as if the session had loaded them."""
from __future__ import annotations

import pytest

from .helpers import Factory


@pytest.fixture
def outside_reads(monkeypatch):
    from idp.database import DirectStatement

    seen = []
    run_on = DirectStatement.run_on

    def counted(statement, connection, parameters):
        seen.append(statement.statement)
        return run_on(statement, connection, parameters)

    monkeypatch.setattr(DirectStatement, "run_on", counted)
    return seen


def test_a_session_that_flushed_or_holds_changes_has_written_something(ctx):
    from idp.database import session_has_written_nothing
    from idp.extensions import db
    from idp.models import Realm

    session = db.session()
    assert session_has_written_nothing(session)
    realm = Factory(ctx).realm("acme")
    assert session_has_written_nothing(session), "committed"
    realm.display_name = "Acme"
    assert not session_has_written_nothing(session), "a change to flush"
    db.session.flush()
    assert not session_has_written_nothing(session), "flushed, not committed"
    db.session.commit()
    assert session_has_written_nothing(session)
    db.session.scalar(db.select(Realm.id))
    assert not session_has_written_nothing(session), "a read began a transaction that could have written"
    db.session.rollback()


def test_a_user_is_found_by_address_outside_the_session_and_can_be_changed_like_a_loaded_one(ctx, outside_reads):
    from idp.extensions import db
    from idp.models import User
    from idp.services.users import find_user_by_email

    factory = Factory(ctx)
    realm = factory.realm("acme")
    user_id = factory.user(realm, "alice@example.com").id
    db.session.expunge(db.session.get(User, user_id))
    db.session.commit()
    outside_reads.clear()
    user = find_user_by_email(realm, "Alice@Example.com")
    assert user.id == user_id and len(outside_reads) == 1
    assert user in db.session and not db.session.dirty
    assert find_user_by_email(realm, "alice@example.com") is user, "the instance the session holds"
    user.name = "Alice Liddell"
    db.session.commit()
    db.session.expunge(user)
    assert db.session.get(User, user_id).name == "Alice Liddell"
    assert find_user_by_email(realm, "nobody@example.com") is None


def test_a_user_added_in_the_sessions_transaction_is_found_by_the_sessions_own_query(ctx, outside_reads):
    from idp.extensions import db
    from idp.services.users import create_user, find_user_by_email

    realm = Factory(ctx).realm("acme")
    user = create_user(realm, email="bob@example.com", password="correct horse battery staple")
    db.session.flush()
    outside_reads.clear()
    assert find_user_by_email(realm, "bob@example.com") is user
    assert outside_reads == []
    db.session.rollback()
    assert find_user_by_email(realm, "bob@example.com") is None


def test_a_second_factor_attempt_is_counted_and_committed_whether_or_not_the_session_wrote(ctx, outside_reads):
    from idp.database import commit_keeping_loaded_state
    from idp.extensions import db
    from idp.mfa.attempts import claim_attempt
    from idp.models import User
    from idp.services.users import find_user_by_email

    factory = Factory(ctx)
    realm = factory.realm("acme")
    db.session.expunge(factory.user(realm, "carol@example.com"))
    assert realm.id
    commit_keeping_loaded_state()  # the realm stays loaded, as the lookup cache gives it to a request
    user = find_user_by_email(realm, "carol@example.com")  # as a login's code page holds it
    outside_reads.clear()
    assert claim_attempt(user) == 0
    assert len(outside_reads) == 1, "one statement, committed as it ran"
    assert user.failed_mfa_attempts == 1, "read again after the claim"
    user.name = "Carol"
    assert claim_attempt(user) == 0
    assert len(outside_reads) == 1, "the session's transaction, committed with the change"
    user_id = user.id
    db.session.expunge(user)
    row = db.session.get(User, user_id)
    assert (row.failed_mfa_attempts, row.name) == (2, "Carol")
