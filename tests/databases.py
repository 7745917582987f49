"""The database each test runs on.

By default (``IDP_TEST_DATABASE=sqlite``) a test's database is the SQLite file inside its copy of
the migrated instance folder, so copying the folder copies the database.

With ``IDP_TEST_DATABASE=postgres`` every test gets its own PostgreSQL database instead, cloned
with ``CREATE DATABASE ... TEMPLATE`` from one migrated once per session. ``IDP_TEST_DATABASE_URL``
names a database on the server as a role that may create databases
(``postgresql+psycopg://idp_test:idp_test@127.0.0.1:5432/idp_test``; ``.ci/run`` sets one up).

The PostgreSQL database travels with the instance folder, so fixtures that copy a folder keep
working unchanged: the folder holds ``test-database.json`` naming its database and the folder that
owns it. The first app built on a folder that does not own its database (a copy) clones the
database and takes ownership of the clone; until then the copy shares nothing with its source.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

MODE = os.environ.get("IDP_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
MARKER = "test-database.json"
PREFIX = "idp_test_"


def postgres_mode() -> bool:
    if MODE not in ("sqlite", "postgres"):
        raise RuntimeError(f"IDP_TEST_DATABASE must be 'sqlite' or 'postgres', not {MODE!r}")
    return MODE == "postgres"


class PostgresDatabases:
    """Creates, clones and drops the test databases of one pytest session."""

    def __init__(self, admin_url: str):
        from sqlalchemy.engine import make_url

        self.admin_url = make_url(admin_url)
        if self.admin_url.get_backend_name() != "postgresql":
            raise RuntimeError(f"IDP_TEST_DATABASE_URL must be a PostgreSQL URL, not {admin_url!r}")
        self._connection = None
        self._counter = 0
        self.created: list[str] = []

    # -- the server ------------------------------------------------------------------------

    def _conninfo(self, url) -> str:
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _execute(self, sql: str, params=()):
        import psycopg

        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(self._conninfo(self.admin_url), autocommit=True)
        return self._connection.execute(sql, params)

    def url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def _new_name(self) -> str:
        self._counter += 1
        return f"{PREFIX}{os.getpid()}_{self._counter}"

    def create(self, template: str | None = None) -> str:
        """A new empty database, or a copy of ``template`` (which must have no connections)."""
        name = self._new_name()
        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}" STRATEGY FILE_COPY'
        self._execute(sql)
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_stale(self) -> None:
        """Drop test databases left behind by sessions whose process is gone (an interrupted run)."""
        rows = self._execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)).fetchall()
        for (name,) in rows:
            match = re.fullmatch(rf"{PREFIX}(\d+)_\d+", name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                self.drop(name)

    def close(self) -> None:
        for name in list(reversed(self.created)):
            self.drop(name)
        if self._connection is not None:
            self._connection.close()

    # -- instance folders ------------------------------------------------------------------

    def attach_new(self, folder: Path) -> str:
        """Give ``folder`` a new empty database of its own (for the migrated template)."""
        name = self.create()
        self._write_marker(folder, name)
        return self.url(name)

    def url_for(self, folder: Path) -> str | None:
        """The URL of the database that belongs to ``folder``, cloning it first if the folder is
        a copy; None for a folder with no test database (a fresh, SQLite instance)."""
        marker = folder / MARKER
        if not marker.exists():
            return None
        data = json.loads(marker.read_text())
        if Path(data["owner"]) != folder.resolve():
            self._write_marker(folder, self.create(template=data["database"]))
            data = json.loads(marker.read_text())
        return self.url(data["database"])

    @staticmethod
    def _write_marker(folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).write_text(json.dumps({"owner": str(folder.resolve()), "database": name}))


def create_app_on_test_database(original, databases: PostgresDatabases):
    """Wrap ``idp.create_app`` so that an app built on a folder with a test database uses it,
    whether its settings are given (tests) or loaded from config and environment (the CLI)."""
    import functools

    from idp import instance_folder
    from idp.config import load_settings

    @functools.wraps(original)
    def create_app(instance_path=None, *, settings=None, config_path=None, test_config=None):
        url = databases.url_for(instance_folder(instance_path))
        if url:
            if settings is None:
                settings = load_settings(config_path or os.environ.get("IDP_CONFIG") or None)
            if not settings.database.url:
                settings.database.url = url
        return original(instance_path, settings=settings, config_path=config_path, test_config=test_config)

    return create_app
