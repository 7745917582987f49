"""A database that drops every connection (a restart or fail-over) costs a running server at most
a 503 with a retry hint per worker, never a 500, and the next requests work on new connections."""
from __future__ import annotations

import pytest
import requests


def test_server_recovers_when_postgresql_drops_its_connections(start_server, database_url, postgres_databases):
    if postgres_databases is None:
        pytest.skip("PostgreSQL only (IDP_TEST_DATABASE=postgres): SQLite has no connections to lose")
    import psycopg
    from sqlalchemy.engine import make_url

    server = start_server("only", workers=1)
    url = f"{server.url}/realms/default/authorize?client_id=nobody"
    assert requests.get(url, timeout=5).status_code == 400  # a page that reads the database

    target = make_url(database_url)
    admin = psycopg.connect(postgres_databases._conninfo(postgres_databases.admin_url), autocommit=True)
    with admin:
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (target.database,)).fetchone()[0]
    assert dropped >= 1

    statuses = []
    for _ in range(6):
        response = requests.get(url, timeout=5)
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.headers["Retry-After"].isdigit()
    assert set(statuses) <= {400, 503}, statuses
    assert statuses[-3:] == [400, 400, 400], statuses
    assert server.running
