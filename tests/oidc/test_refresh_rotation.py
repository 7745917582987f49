"""A refresh with rotation costs the database two statements: the token's row is read, then one
statement spends it and keeps its replacement (``tokens.rotate_refresh_token``). That statement
re-checks everything the read found, so whatever changes in between (another request with the
same token, a revocation, a disabled user) is refused exactly as if the read had seen it.

Run on SQLite and, with ``IDP_TEST_DATABASE=postgres``, on PostgreSQL, where the statements run
without ``BEGIN``/``COMMIT`` round trips; through Flask's view and through the express lane. The
statements are counted as the database receives them (``statements_during``); what happens
"between the read and the claim" runs at Authlib's hook between the grant's validation, which
reads the token, and its token response, which spends it (``refresh_grant_hook``)."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from .. import databases
from ..flows import signed_in_with_tokens
from ..helpers import refresh_grant_hook
from .test_lookup_cache import statements_during

REALM = "rotation"
EMAIL = "alice@example.com"
REDIRECT_URI = "http://127.0.0.1:9999/callback"


@pytest.fixture
def shop(runner):
    from ..helpers import PASSWORD

    assert runner("realms", "create", REALM).exit_code == 0
    created = json.loads(runner("clients", "create", "--realm", REALM, "--name", "Shop", "--redirect-uri",
                                REDIRECT_URI, "--json").stdout)
    assert runner("users", "create", "--realm", REALM, "--email", EMAIL, "--password", PASSWORD).exit_code == 0
    return created["client_id"], created["client_secret"]


@pytest.fixture(params=["flask", "express"])
def server(make_app, request):
    """The app, its refreshes answered by Flask's view or by the express lane before it
    (``idp.oidc.express``; on when the public URL is set, here the test client's host)."""
    if request.param == "flask":
        return make_app()
    app = make_app(public_url="http://localhost")
    assert type(app.wsgi_app).__name__ == "ExpressLanes"
    return app


def refresh(http, shop, refresh_token):
    return http.post(f"/realms/{REALM}/token", auth=shop,
                     data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def refresh_and_statements(server, http, shop, refresh_token, **trace):
    """The answer to a refresh and the statements it sent, as the database received them."""
    answers = []
    seen = statements_during(server, lambda: answers.append(refresh(http, shop, refresh_token)), **trace)
    return answers[0], seen


def signed_in(server, shop) -> dict:
    return signed_in_with_tokens(server.test_client(), REALM, *shop)[1]


def warmed(server, shop, tokens: dict) -> dict:
    """Refresh until a refresh reads the realm and the client from the caches alone (on
    PostgreSQL they are off until the app's listener is connected); the tokens it ends with."""
    import time

    http = server.test_client()
    deadline = time.monotonic() + 10
    while True:
        answer, seen = refresh_and_statements(server, http, shop, tokens["refresh_token"])
        assert answer.status_code == 200, answer.get_json()
        tokens = answer.get_json()
        if not any("FROM realms" in s or "FROM clients" in s or "FROM signing_keys" in s for s in seen):
            return tokens
        assert time.monotonic() < deadline, "the caches never served a refresh"
        time.sleep(0.02)


def reuse_events(server) -> int:
    with server.app_context():
        from idp.extensions import db
        from idp.models import AuditEvent

        return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                                 .filter_by(event_type="oauth.refresh_token_reused"))


def test_a_refresh_reads_the_token_then_spends_it_and_keeps_the_new_one_in_one_statement(server, shop):
    tokens = warmed(server, shop, signed_in(server, shop))
    in_transaction = []
    answer, seen = refresh_and_statements(server, server.test_client(), shop, tokens["refresh_token"],
                                          in_transaction=in_transaction)

    assert answer.status_code == 200, answer.get_json()
    assert len(seen) <= 3, seen
    if databases.postgres_mode():
        read, rotation = seen
        assert read.startswith("SELECT") and "FROM issued_tokens" in read
        assert rotation.startswith("WITH claimed AS") and "INSERT INTO issued_tokens" in rotation
        assert in_transaction == [False, False], "no BEGIN/COMMIT round trips"
    else:
        read, claim, insert = seen
        assert read.startswith("SELECT") and claim.startswith("UPDATE issued_tokens")
        assert insert.startswith("INSERT INTO issued_tokens") and in_transaction[1:] == [True, True]
    assert refresh(server.test_client(), shop, answer.get_json()["refresh_token"]).status_code == 200


def test_the_same_refresh_token_sent_by_many_at_once_works_once_and_ends_the_family(server, shop):
    """RFC 9700 §4.14.2 under a race: of eight requests with one token, one gets new tokens; the
    others are reuses, and a reuse revokes the family, the winner's new tokens included."""
    tokens = signed_in(server, shop)
    racers = 8
    start = threading.Barrier(racers)
    answers = []

    def send():
        http = server.test_client()
        start.wait()
        answers.append(refresh(http, shop, tokens["refresh_token"]))

    threads = [threading.Thread(target=send) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * (racers - 1), [a.get_json() for a in answers]
    assert {a.get_json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}
    winner = next(a.get_json() for a in answers if a.status_code == 200)
    assert refresh(server.test_client(), shop, winner["refresh_token"]).status_code == 400
    userinfo = server.test_client().get(f"/realms/{REALM}/userinfo",
                                        headers={"Authorization": f"Bearer {winner['access_token']}"})
    assert userinfo.status_code == 401
    assert reuse_events(server) >= 1


def test_an_expired_refresh_token_is_refused_without_ending_the_family(server, shop):
    first = signed_in(server, shop)
    second = refresh(server.test_client(), shop, first["refresh_token"]).get_json()
    with server.app_context():
        from idp.extensions import db
        from idp.models import IssuedToken
        from idp.security import keyed_digest

        row = db.session.scalar(db.select(IssuedToken).filter_by(refresh_digest=keyed_digest(second["refresh_token"])))
        row.refresh_expires_at = row.issued_at - dt.timedelta(seconds=1)
        db.session.commit()

    answer = refresh(server.test_client(), shop, second["refresh_token"])

    assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid_grant")
    assert reuse_events(server) == 0


def _change_before_the_claim(server, change):
    """Run ``change`` (in its own transaction) before the token is spent: after the refresh read
    the token, as a request elsewhere would."""
    done = []

    def before():
        if not done:
            done.append(True)
            with server.app_context():
                from idp.extensions import db

                change(db)
                db.session.commit()
                db.session.remove()

    return refresh_grant_hook(server, "before_create_token_response", before), done


def _disable_user(db):
    from idp.models import User

    db.session.execute(db.update(User).filter_by(email=EMAIL).values(disabled=True))


def _revoke_family(db):
    from idp.models import IssuedToken

    db.session.execute(db.update(IssuedToken).values(revoked_at=db.func.now()))


@pytest.mark.parametrize("change", [_disable_user, _revoke_family], ids=["user disabled", "token revoked"])
def test_a_change_between_the_read_and_the_claim_refuses_the_refresh_as_the_read_would(server, shop, change):
    tokens = signed_in(server, shop)
    hooked, done = _change_before_the_claim(server, change)
    with hooked:
        answer = refresh(server.test_client(), shop, tokens["refresh_token"])

    assert done, "the refresh never reached its claim"
    assert (answer.status_code, answer.get_json()) == (400, {"error": "invalid_grant"})
    assert reuse_events(server) == 0, "a refused token is not a reused one"


def test_a_token_spent_between_the_read_and_the_claim_is_a_reuse(server, shop):
    """What the loser of a race sees: its read found the token unspent, its claim found it spent."""
    tokens = signed_in(server, shop)
    spent = {}

    def spend_elsewhere():
        if not spent:
            spent["answer"] = None
            spent["answer"] = refresh(server.test_client(), shop, tokens["refresh_token"])

    with refresh_grant_hook(server, "before_create_token_response", spend_elsewhere):
        answer = refresh(server.test_client(), shop, tokens["refresh_token"])

    assert spent["answer"].status_code == 200
    assert (answer.status_code, answer.get_json()["error_description"]) == (
        400, "The refresh token has already been used.")
    assert refresh(server.test_client(), shop, spent["answer"].get_json()["refresh_token"]).status_code == 400
    assert reuse_events(server) == 1


def test_the_express_lane_never_hands_a_spent_token_to_flask(make_app, shop):
    """A lane that fails is normally started over by Flask; not once the refresh token is
    being spent, or Flask would find it spent and end the family as a reuse. The failure (here
    right after the new token was kept) is answered as one (500), and the family lives on."""
    server = make_app(public_url="http://localhost")
    tokens = signed_in(server, shop)

    def fail():
        raise RuntimeError("the answer could not be built after the new token was kept")

    with refresh_grant_hook(server, "after_create_token_response", fail):
        answer = refresh(server.test_client(), shop, tokens["refresh_token"])

    assert (answer.status_code, answer.get_json()["error"]) == (500, "server_error")
    assert reuse_events(server) == 0
    userinfo = server.test_client().get(f"/realms/{REALM}/userinfo",
                                        headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 200, "the family was not ended"


@pytest.mark.parametrize(("gone", "refusals"), [
    # The client's tokens go with it: refused as an unknown client or, while the deletion's
    # notification is on its way to the lookup cache (PostgreSQL), as an unknown token.
    (("clients", "delete", "{client_id}", "--realm", REALM), {(401, "invalid_client"), (400, "invalid_grant")}),
    (("users", "delete", EMAIL, "--realm", REALM), {(400, "invalid_grant")}),
    (("users", "set", EMAIL, "--realm", REALM, "--disabled", "on"), {(400, "invalid_grant")}),
], ids=["client deleted", "user deleted", "user locked"])
def test_a_refresh_after_the_client_or_the_user_is_gone_is_refused(server, shop, runner, gone, refusals):
    """Whether the user may still log in and the token still exists is read by the refresh's own
    statements, never remembered: the next refresh after the change is refused."""
    tokens = warmed(server, shop, signed_in(server, shop))
    assert runner(*(part.format(client_id=shop[0]) for part in gone)).exit_code == 0

    answer = refresh(server.test_client(), shop, tokens["refresh_token"])

    assert (answer.status_code, answer.get_json()["error"]) in refusals
    assert reuse_events(server) == 0


@pytest.mark.skipif(not databases.postgres_mode(), reason="threads keep a direct statement connection on PostgreSQL")
def test_a_refresh_after_the_database_ended_the_threads_connection_is_answered(server, shop):
    """On PostgreSQL each thread keeps one connection for the statements the refresh, userinfo
    and introspection run straight on the driver (``idp.database.DirectStatement``). When the
    database ends it (a restart, an administrator, a proxy's idle timeout), the read that finds
    it broken is sent again on a new one, and nothing is spent twice."""
    from sqlalchemy import create_engine, text

    from idp.database import direct_statement_connections

    tokens = refresh(server.test_client(), shop, signed_in(server, shop)["refresh_token"]).get_json()
    with server.app_context():
        from idp.extensions import db

        engine = db.engine
        backends = [connection.info.backend_pid for connection in direct_statement_connections(engine)]
    assert backends, "the refresh ran on a connection its thread keeps"
    admin = create_engine(engine.url)
    try:
        with admin.connect() as connection:
            for pid in backends:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()

    answer = refresh(server.test_client(), shop, tokens["refresh_token"])

    assert answer.status_code == 200, answer.get_json()
    assert refresh(server.test_client(), shop, answer.get_json()["refresh_token"]).status_code == 200
    assert reuse_events(server) == 0
