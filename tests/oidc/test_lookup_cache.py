"""The token path keeps realms, clients and signing keys in memory (``idp.services.lookup_cache``)
and is never stale: what an administrator changes on one app instance takes effect on the very
next request of another instance on the same database (each with a cache of its own, as two
machines have), and of the instance itself. On SQLite both instances share the file; under
``IDP_TEST_DATABASE=postgres`` they share the PostgreSQL database and learn of changes through
``LISTEN``/``NOTIFY``."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import event

from ..flows import signed_in_with_tokens

REALM = "lookups"
REDIRECT_URI = "http://127.0.0.1:9999/callback"
EMAIL = "alice@example.com"


def kid_of(jwt_string: str) -> str:
    header = jwt_string.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


@pytest.fixture
def setup(runner):
    from .conftest import realm_with_machine_and_shop

    return realm_with_machine_and_shop(runner, REALM, REDIRECT_URI, EMAIL)


class Instance:
    """One app instance (one machine's worker) and what it answers."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()

    def client_credentials(self, client):
        return self.http.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"}, auth=client)

    def userinfo(self, access_token):
        return self.http.get(f"/realms/{REALM}/userinfo", headers={"Authorization": f"Bearer {access_token}"})

    def refresh(self, client, refresh_token):
        return self.http.post(f"/realms/{REALM}/token", auth=client,
                              data={"grant_type": "refresh_token", "refresh_token": refresh_token})


@pytest.fixture(params=["flask", "express lanes"])
def instances(request, make_app, setup):
    """Two instances whose token, userinfo and introspection requests go through Flask's views,
    or (with a public URL) through the express lanes in front of them (``idp.oidc.express``)."""
    public_url = "http://localhost" if request.param == "express lanes" else ""
    return Instance(make_app(public_url=public_url)), Instance(make_app(public_url=public_url))


def statements_during(app, action, *, in_transaction: list | None = None) -> list[str]:
    """The SQL statements ``action`` sent on the app's pooled connections, as the database
    received them (also those run straight on a driver's cursor: ``idp.database.DirectStatement``,
    on PostgreSQL on the connections its threads keep: ``direct_statement_connections``);
    ``in_transaction`` collects, per statement, whether it ran inside a transaction. On
    PostgreSQL from libpq's protocol trace (the server's ``ReadyForQuery`` after each statement
    says whether a transaction is open), on SQLite from the driver's trace callback.
    ``BEGIN``, ``COMMIT``, ``ROLLBACK`` and ``DEALLOCATE`` are not counted as statements."""
    with app.app_context():
        from idp.extensions import db

        engine = db.engine
    tracers: dict = {}

    def trace(dbapi_connection, _record, _proxy):
        if id(dbapi_connection) not in tracers:
            tracers[id(dbapi_connection)] = (_SqliteTrace if engine.dialect.name == "sqlite" else _LibpqTrace)(
                dbapi_connection)

    from idp.database import direct_statement_connections

    for connection in direct_statement_connections(engine):
        trace(connection, None, None)
    event.listen(engine, "checkout", trace)
    try:
        action()
    finally:
        event.remove(engine, "checkout", trace)
    seen: list[str] = []
    for tracer in tracers.values():
        for statement, open_transaction in tracer.finish():
            if statement.split(None, 1)[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK", "DEALLOCATE"):
                continue
            seen.append(statement)
            if in_transaction is not None:
                in_transaction.append(open_transaction)
    return seen


class _SqliteTrace:
    def __init__(self, connection):
        self.connection = connection
        self.statements: list[tuple[str, bool]] = []
        connection.set_trace_callback(lambda sql: self.statements.append((sql, connection.in_transaction)))

    def finish(self):
        self.connection.set_trace_callback(None)
        return self.statements


class _LibpqTrace:
    def __init__(self, connection):
        import tempfile

        from psycopg import pq

        self.pgconn = connection.pgconn
        self.file = tempfile.TemporaryFile()
        self.pgconn.trace(self.file.fileno())
        self.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def finish(self):
        """Each simple ``Query`` or extended-protocol ``Execute`` (named by the ``Parse`` that
        prepared it), with the transaction status of the ``ReadyForQuery`` that ends it."""
        import re

        self.pgconn.untrace()
        self.file.seek(0)
        statements, prepared, last_parsed, pending = [], {}, "", None
        text = self.file.read().decode("utf-8", "replace")
        for entry in re.split(r"\n(?=[FB]\t\d+\t)", text.rstrip("\n")):  # a statement may span lines
            direction, _, message, detail = (entry.split("\t", 3) + ["", "", "", ""])[:4]
            if direction == "F" and message == "Parse":
                name, last_parsed = re.match(r' "([^"]*)" "(.*)" \d+', detail, re.DOTALL).groups()
                prepared[name] = last_parsed
            elif direction == "F" and message == "Bind":
                last_parsed = prepared.get(re.match(r' "[^"]*" "([^"]*)"', detail).group(1), last_parsed)
            elif direction == "F" and message == "Query":
                pending = detail.strip()[1:-1]
            elif direction == "F" and message == "Execute":
                pending = last_parsed
            elif direction == "B" and message == "ReadyForQuery" and pending is not None:
                statements.append((pending, detail.strip() != "I"))
                pending = None
        self.file.close()
        return statements


def settled(answer, check, timeout: float = 2.0):
    """``answer()`` once ``check`` holds for it. On SQLite the first answer must hold: each
    request compares the stamp file the writer replaced before its commit returned. PostgreSQL
    delivers ``NOTIFY`` to the other connections a moment after the commit returns (a signal to
    each listening backend), so there the next requests may precede it by milliseconds: poll."""
    import time

    from .. import databases

    deadline = time.monotonic() + timeout
    while True:
        result = answer()
        if check(result) or not databases.postgres_mode() or time.monotonic() > deadline:
            assert check(result), result
            return result
        time.sleep(0.01)


def warm(instance, client) -> None:
    """Ask until the instance answers from its caches alone (on PostgreSQL they are off until
    its listener is connected)."""
    import time

    deadline = time.monotonic() + 10
    while statements_during(instance.app, lambda: instance.client_credentials(client)):
        assert time.monotonic() < deadline, "the caches never served a request"
        time.sleep(0.02)


def test_a_client_credentials_token_from_a_warm_cache_reads_nothing_from_the_database(instances, setup):
    first, _ = instances
    warm(first, setup["machine"])
    assert statements_during(first.app, lambda: first.client_credentials(setup["machine"])) == []


def test_changes_take_effect_on_the_next_request_of_every_instance(instances, setup, runner):
    first, second = instances
    machine = setup["machine"]
    for instance in instances:
        warm(instance, machine)
        token = instance.client_credentials(machine)
        assert token.status_code == 200
        old_kid = kid_of(token.get_json()["access_token"])
        assert token.get_json()["expires_in"] != 123

    # A realm setting changed (on another machine: the CLI's own app).
    assert runner("realms", "set", REALM, "--access-token-lifetime", "123").exit_code == 0
    for instance in instances:
        settled(lambda instance=instance: instance.client_credentials(machine).get_json()["expires_in"], lambda value: value == 123)

    # The signing keys rotated: the next token is signed with the new key everywhere, and a
    # token signed with the old one still verifies (it stays published until it expires).
    _, user_tokens = signed_in_with_tokens(first.http, REALM, *setup["shop"])
    assert runner("keys", "rotate", "--realm", REALM).exit_code == 0
    for instance in instances:
        settled(lambda: kid_of(instance.client_credentials(machine).get_json()["access_token"]),
                lambda kid: kid != old_kid)
        assert instance.userinfo(user_tokens["access_token"]).status_code == 200

    # The client's secret rotated on the first instance: the old secret fails on both at once.
    with first.app.app_context():
        from idp.extensions import db
        from idp.services.clients import get_client, rotate_client_secret
        from idp.services.realms import get_realm

        new_secret = rotate_client_secret(get_client(get_realm(REALM), machine[0]))
        db.session.commit()
    for instance in instances:
        settled(lambda instance=instance: instance.client_credentials(machine).status_code, lambda status: status == 401)
        assert instance.client_credentials((machine[0], new_secret)).status_code == 200

    # A token revoked on one instance is refused on the other.
    refreshed = second.refresh(setup["shop"], user_tokens["refresh_token"])
    assert refreshed.status_code == 200
    user_tokens = refreshed.get_json()
    revoked = first.http.post(f"/realms/{REALM}/revoke", auth=setup["shop"],
                              data={"token": user_tokens["refresh_token"]})
    assert revoked.status_code == 200
    assert second.refresh(setup["shop"], user_tokens["refresh_token"]).status_code == 400
    assert second.userinfo(user_tokens["access_token"]).status_code == 401

    # A user locked out: their tokens stop working everywhere.
    _, alice_tokens = signed_in_with_tokens(second.http, REALM, *setup["shop"])
    assert first.userinfo(alice_tokens["access_token"]).status_code == 200
    assert runner("users", "set", EMAIL, "--realm", REALM, "--disabled", "on").exit_code == 0
    for instance in instances:
        assert instance.userinfo(alice_tokens["access_token"]).status_code == 401
    assert first.refresh(setup["shop"], alice_tokens["refresh_token"]).status_code == 400

    # The client deleted: no instance knows it any more.
    assert runner("clients", "delete", machine[0], "--realm", REALM).exit_code == 0
    for instance in instances:
        answer = settled(lambda instance=instance: instance.client_credentials((machine[0], new_secret)),
                         lambda response: response.status_code == 401)
        assert answer.get_json()["error"] == "invalid_client"


def test_a_listener_not_heard_from_lately_turns_the_caches_off(instances, setup, monkeypatch):
    """A listening connection whose network path died without a word can block its check for
    minutes, and no notification reaches it meanwhile: once no check has passed within
    ``SILENCE_LIMIT``, every lookup reads the database again and nothing is answered from a
    prepared answer, until one passes."""
    from .. import databases

    if not databases.postgres_mode():
        pytest.skip("PostgreSQL's listening connection")
    from idp.services import lookup_cache

    first, _ = instances
    machine = setup["machine"]
    warm(first, machine)
    assert statements_during(first.app, lambda: first.client_credentials(machine)) == []
    monkeypatch.setattr(lookup_cache, "SILENCE_LIMIT", -1.0)
    assert first.app.extensions["idp.lookup_cache"].current_generation() is None
    for _ in range(2):
        answered = []
        assert statements_during(first.app, lambda: answered.append(first.client_credentials(machine))) != []
        assert answered[0].status_code == 200
    monkeypatch.undo()
    warm(first, machine)


def test_a_change_rolled_back_is_never_cached(instances, setup):
    """A lookup inside a transaction that changed a client reads the change but keeps nothing
    of it: after the rollback, the committed secret still works and the attempted one does not."""
    first, _ = instances
    machine = setup["machine"]
    warm(first, machine)
    with first.app.app_context():
        from idp.extensions import db
        from idp.services.clients import find_client, rotate_client_secret
        from idp.services.realms import get_realm

        realm = get_realm(REALM)
        attempted = rotate_client_secret(find_client(realm, machine[0]))
        db.session.flush()
        assert find_client(realm, machine[0]).check_client_secret(attempted)
        db.session.rollback()
    assert first.client_credentials(machine).status_code == 200
    assert first.client_credentials((machine[0], attempted)).status_code == 401


def test_userinfo_and_introspection_read_the_token_and_its_user_in_one_statement(instances, setup):
    """The signature is checked against the cached keys; what may have changed (the token's
    revocation, the user's claims and state) is read in one statement."""
    first, _ = instances
    warm(first, setup["machine"])
    _, tokens = signed_in_with_tokens(first.http, REALM, *setup["shop"])
    assert first.userinfo(tokens["access_token"]).status_code == 200
    in_transaction: list[bool] = []
    seen = statements_during(first.app, lambda: first.userinfo(tokens["access_token"]), in_transaction=in_transaction)
    assert len(seen) == 1, seen

    def introspect():
        answer = first.http.post(f"/realms/{REALM}/introspect", auth=setup["shop"],
                                 data={"token": tokens["access_token"]})
        assert answer.get_json()["active"] is True

    introspect()
    seen = statements_during(first.app, introspect, in_transaction=in_transaction)
    assert len(seen) == 1, seen
    from .. import databases

    if databases.postgres_mode():  # no BEGIN and ROLLBACK around the one read
        assert in_transaction == [False, False]


def test_discovery_and_jwks_follow_a_change_on_every_instance_at_once(make_app, setup, runner):
    """The documents are served from memory before Flask (``CachedDocumentsMiddleware``) and
    rebuilt as soon as anything they derive from changes, on every instance: turning dynamic
    registration on shows its endpoint on the next request, and rotated keys are published."""
    first, second = (Instance(make_app(public_url="http://localhost")) for _ in range(2))

    def discovery(instance):
        return instance.http.get(f"/realms/{REALM}/.well-known/openid-configuration").get_json()

    def published_kids(instance):
        return {key["kid"] for key in instance.http.get(f"/realms/{REALM}/jwks").get_json()["keys"]}

    for instance in (first, second):
        for _ in range(2):  # the second answer comes from memory
            assert "registration_endpoint" not in discovery(instance)
        kids_before = published_kids(instance)
    assert runner("realms", "set", REALM, "--dynamic-registration", "on").exit_code == 0
    for instance in (first, second):
        settled(lambda instance=instance: discovery(instance), lambda document: "registration_endpoint" in document)
    assert runner("keys", "rotate", "--realm", REALM).exit_code == 0
    for instance in (first, second):
        settled(lambda instance=instance: published_kids(instance), lambda kids: kids > kids_before)


def test_an_express_lane_reuses_its_threads_instance_of_a_row_only_while_it_is_untouched(make_app, setup):
    """A lane with no session reads realms and clients from detached instances it keeps per
    thread (``lookup_cache._lane_instance``); one that anything changed is never handed out again."""
    import threading

    from idp.models import Realm
    from idp.services.lookup_cache import _lane_instance, row_data
    from idp.services.realms import find_realm

    app = make_app()
    with app.app_context():
        row = row_data(find_realm(REALM))

    first = _lane_instance(Realm, row)
    assert _lane_instance(Realm, row) is first

    first.display_name = "Changed in a lane"
    second = _lane_instance(Realm, row)
    assert second is not first and second.display_name == row.values["display_name"]

    second.mfa_factors.append("changed in place")
    third = _lane_instance(Realm, row)
    assert third is not second and third.mfa_factors == row.values["mfa_factors"]

    fresh_row = row._replace(values=dict(row.values))  # the cache replaced the row (a change)
    assert _lane_instance(Realm, fresh_row) is not third

    from_another_thread = []
    worker = threading.Thread(target=lambda: from_another_thread.append(_lane_instance(Realm, row)))
    worker.start()
    worker.join()
    assert from_another_thread[0] is not third
    assert _lane_instance(Realm, row) is third


def test_a_worker_forked_from_a_process_that_used_its_caches_starts_them_afresh(instances, setup):
    """gunicorn forks its workers from the process that built the app: a child must not serve
    what its parent cached, nor count on the parent's listener (the process id it checks is
    kept current by an at-fork hook rather than asked of the system on every lookup)."""
    import os

    first, _ = instances
    warm(first, setup["machine"])
    cache = first.app.extensions["idp.lookup_cache"]
    with first.app.test_request_context():
        assert cache.usable() and cache._entries, "the parent serves from memory"
    parent_generation = cache.generation

    child = os.fork()
    if child == 0:
        try:
            with first.app.test_request_context():
                cache.usable()
            started_afresh = (cache._pid == os.getpid() and not cache._entries
                              and cache.generation > parent_generation)
        except BaseException:  # noqa: BLE001 - the child reports by its exit status only
            started_afresh = False
        os._exit(0 if started_afresh else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with first.app.test_request_context():
        assert cache._pid == os.getpid() and cache._entries, "the parent's caches are untouched"


def test_a_worker_keeps_at_most_a_thousand_verified_tokens_besides_its_realms_and_clients(instances, setup,
                                                                                          monkeypatch):
    """A verified access token's claims are kept per token, and anyone holding tokens decides how
    many there are: at about 1.2 KB each, 10,000 would have cost a worker a tenth of its memory.
    When the token entries are full they are dropped together; realms, clients and keys stay."""
    from idp.services import lookup_cache

    monkeypatch.setattr(lookup_cache, "MAX_TOKEN_ENTRIES", 5)
    first, _ = instances
    warm(first, setup["machine"])
    cache = first.app.extensions["idp.lookup_cache"]
    kept = dict(cache._entries)
    with first.app.test_request_context():
        for n in range(12):
            assert cache.get(("verified_access_token", n), lambda n=n: {"jti": n}, many=True) == {"jti": n}
            assert len(cache._many) <= 5
    assert cache._many and cache._entries == kept, "the realm, client and key entries were not touched"
