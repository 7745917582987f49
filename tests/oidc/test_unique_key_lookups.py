"""A token, code, session cookie or client is looked up by its key that is unique across realms
(a digest, a ``jti``, a ``client_id``), and its realm is compared on the row
(``idp.oidc.tokens.in_realm``): the statement must find the row through that key's unique index
whatever plan PostgreSQL makes.

With the realm's column in the ``WHERE`` clause as well, the generic plan of the prepared
statement (psycopg prepares a statement on its fifth run on a connection), made while the table
was small and had no statistics, used the realm's index and filtered every row of the realm:
the benchmark's refreshes slowed down as tokens accumulated (PostgreSQL's CPU per refresh 0.5 →
2.2 ms over 20,000 refreshes). Each statement here is planned as such a generic plan on a
freshly migrated database and must name the unique index. A lookup in the wrong realm finds
nothing, as before.

A family's revocation and the search for a replayed code's tokens name the realm too, by keys
that are not unique; composite indexes of both columns match them, and their generic plans must
use those."""
from __future__ import annotations

import json
import re

import pytest

from .. import databases
from ..flows import signed_in_with_tokens


def _statements():
    from idp.login.sessions import SESSION_BY_COOKIE_DIGEST
    from idp.oidc import tokens
    from idp.oidc.grants.authorization_code import CODE_BY_DIGEST
    from idp.services.clients import CLIENT_BY_ID

    return {
        "refresh read (rotation)": (tokens._PRESENTED_REFRESH_TOKEN.statement, "uq_issued_tokens_refresh_digest"),
        "access token snapshot (userinfo, introspection)": (tokens._SNAPSHOT_BY_ACCESS_JTI.statement,
                                                            "uq_issued_tokens_access_jti"),
        "refresh token snapshot (introspection)": (tokens._SNAPSHOT_BY_REFRESH_DIGEST.statement,
                                                   "uq_issued_tokens_refresh_digest"),
        "token row by refresh digest": (tokens._TOKEN_BY_REFRESH_DIGEST, "uq_issued_tokens_refresh_digest"),
        "token row by jti": (tokens._TOKEN_BY_ACCESS_JTI, "uq_issued_tokens_access_jti"),
        "authorization code": (CODE_BY_DIGEST, "uq_authorization_codes_code_digest"),
        "browser session": (SESSION_BY_COOKIE_DIGEST, "uq_browser_sessions_cookie_digest"),
        "client (when not cached)": (CLIENT_BY_ID, "uq_clients_client_id"),
        # not unique keys, but revoked with the realm named: a composite index matches both
        "a family's revocation (a refresh token reused)": (tokens.revoke_family_statement(1, "family"),
                                                           "ix_issued_tokens_family_id_realm_id"),
        "a code's tokens (a code replayed)": (tokens.families_of_code_statement(1, 1),
                                              "ix_issued_tokens_authorization_code_id_realm_id"),
    }


REALM_ONLY_INDEX = re.compile(r"using ix_(issued_tokens|authorization_codes|browser_sessions|clients)_realm_id on")


def generic_plan(connection, statement) -> str:
    """PostgreSQL's generic plan of ``statement`` (every parameter a placeholder), as a prepared
    statement gets it once psycopg prepares it."""
    compiled = statement.compile(dialect=connection.dialect)
    names: list[str] = []

    def placeholder(match):
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    sql = re.sub(r"%\((\w+)\)s", placeholder, str(compiled))
    driver = connection.connection.dbapi_connection
    with driver.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE unique_key_lookup AS {sql}")
        try:
            cursor.execute(f"EXPLAIN EXECUTE unique_key_lookup({', '.join(['NULL'] * len(names))})")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE unique_key_lookup")
            cursor.execute("RESET plan_cache_mode")


@pytest.mark.skipif(not databases.postgres_mode(), reason="PostgreSQL's plans")
@pytest.mark.parametrize("name", list(_statements()))
def test_a_lookup_uses_the_index_of_its_key_in_a_generic_plan(app, name):
    from idp.extensions import db

    statement, unique_index = _statements()[name]
    with app.app_context(), db.engine.connect() as connection:
        plan = generic_plan(connection, statement)
    lookup = plan.splitlines()
    assert any(unique_index in line for line in lookup), plan
    assert "Seq Scan" not in plan and not REALM_ONLY_INDEX.search(plan), plan


def test_a_token_of_one_realm_means_nothing_in_another(app, client, runner):
    from idp.oidc import tokens as issued
    from idp.services.clients import find_client
    from idp.services.realms import get_realm

    from ..helpers import PASSWORD

    for realm in ("first", "second"):
        assert runner("realms", "create", realm).exit_code == 0
    created = json.loads(runner("clients", "create", "--realm", "first", "--name", "Shop", "--redirect-uri",
                                "http://127.0.0.1:9999/callback", "--json").stdout)
    assert runner("users", "create", "--realm", "first", "--email", "alice@example.com",
                  "--password", PASSWORD).exit_code == 0
    _, tokens = signed_in_with_tokens(client, "first", created["client_id"], created["client_secret"])
    refresh_token = tokens["refresh_token"]

    with app.test_request_context():
        first, second = get_realm("first"), get_realm("second")
        assert issued.presented_refresh_token(second, refresh_token) is None
        assert issued.read_refresh_token(second, refresh_token) is None
        assert issued.find_by_refresh_token(second, refresh_token) is None
        assert issued.presented_refresh_token(first, refresh_token) is not None
        assert issued.read_refresh_token(first, refresh_token) is not None
        assert issued.find_by_refresh_token(first, refresh_token) is not None
        assert find_client(second, created["client_id"]) is None
        assert find_client(first, created["client_id"]) is not None

    still = client.post("/realms/first/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": created["client_id"], "client_secret": created["client_secret"]})
    assert still.status_code == 200, still.json
