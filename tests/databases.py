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
    """Creates, clones and drops the test databases of one pytest session.

    Cloning and dropping cost the server tens of milliseconds each, so a worker thread does
    them beside the tests: it keeps one spare clone of each template ready and drops the
    databases of finished tests."""

    def __init__(self, admin_url: str):
        import concurrent.futures
        import threading

        from sqlalchemy.engine import make_url

        self.admin_url = make_url(admin_url)
        if self.admin_url.get_backend_name() != "postgresql":
            raise RuntimeError(f"IDP_TEST_DATABASE_URL must be a PostgreSQL URL, not {admin_url!r}")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._counter = 0
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self._spares: dict[str, concurrent.futures.Future] = {}
        self._clones: dict[str, int] = {}
        self.created: list[str] = []
        self.handed_out: list[str] = []

    # -- the server ------------------------------------------------------------------------

    def _conninfo(self, url) -> str:
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _execute(self, sql: str, params=()):
        """Run one statement on this thread's own admin connection (psycopg connections are
        not shared between threads)."""
        import psycopg

        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._local.connection = psycopg.connect(self._conninfo(self.admin_url), autocommit=True)
        return connection.execute(sql, params)

    def url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def _new_name(self) -> str:
        with self._lock:
            self._counter += 1
            return f"{PREFIX}{os.getpid()}_{self._counter}"

    def create(self, template: str | None = None) -> str:
        """A new empty database, or a copy of ``template`` (which must have no connections)."""
        name = self._new_name()
        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}"'
        with self._lock:
            self.created.append(name)
        self._execute(sql)
        return name

    def clone(self, template: str) -> str:
        """A copy of ``template``: the spare made beforehand if there is one. From the second
        clone of a template on (the migrated templates, not a test's own database), a new spare
        is started for the next caller."""
        self._clones[template] = self._clones.get(template, 0) + 1
        spare = self._spares.pop(template, None)
        name = None
        if spare is not None:
            try:
                name = spare.result()
            except Exception:  # the spare failed (say, the template was busy): make one here
                name = None
        if name is None:
            name = self.create(template)
        if self._clones[template] >= 2:
            self._spares[template] = self._worker.submit(self.create, template)
        self.handed_out.append(name)
        return name

    def drop(self, name: str) -> None:
        """Drop ``name`` now; a database that cannot be dropped yet is left to ``close``."""
        import time

        import psycopg

        # FORCE ends connections a test left open; a role without pg_signal_backend may not end
        # an autovacuum worker that way, but a plain DROP cancels autovacuum itself.
        for delay, force in ((0, True), (0, False), (0.5, True), (0.5, False)):
            time.sleep(delay)
            try:
                self._execute(f'DROP DATABASE IF EXISTS "{name}"' + (" WITH (FORCE)" if force else ""))
            except psycopg.Error:
                continue
            with self._lock:
                if name in self.created:
                    self.created.remove(name)
            return

    def drop_later(self, name: str) -> None:
        self._worker.submit(self.drop, name)

    def drop_stale(self) -> None:
        """Drop test databases left behind by sessions whose process is gone (an interrupted run)."""
        rows = self._execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)).fetchall()
        for (name,) in rows:
            match = re.fullmatch(rf"{PREFIX}(\d+)_\d+", name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                self.drop(name)

    def _close_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        self._worker.submit(self._close_connection)
        self._worker.shutdown(wait=True)
        self._spares.clear()
        for name in list(reversed(self.created)):
            self.drop(name)
        self._close_connection()

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
            self._write_marker(folder, self.clone(data["database"]))
            data = json.loads(marker.read_text())
        return self.url(data["database"])

    @staticmethod
    def _write_marker(folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).write_text(json.dumps({"owner": str(folder.resolve()), "database": name}))


active: PostgresDatabases | None = None
"""The session's databases while the ``postgres_databases`` fixture runs (PostgreSQL mode)."""


def install_create_app():
    """Replace ``idp.create_app`` with one that builds an app on the PostgreSQL database of its
    instance folder, whether its settings are given (tests) or loaded from config and environment
    (the CLI). Done when tests/conftest.py is imported, before any other test module binds
    ``from idp import create_app``. Returns the replacement."""
    import functools

    import idp
    from idp.config import load_settings

    original = idp.create_app
    if getattr(original, "on_test_database", False):
        return original

    @functools.wraps(original)
    def create_app(instance_path=None, *, settings=None, config_path=None, test_config=None):
        url = active.url_for(idp.instance_folder(instance_path)) if active is not None else None
        if url:
            if settings is None:
                settings = load_settings(config_path or os.environ.get("IDP_CONFIG") or None)
            if not settings.database.url:
                settings.database.url = url
        return original(instance_path, settings=settings, config_path=config_path, test_config=test_config)

    create_app.on_test_database = True
    idp.create_app = create_app
    return create_app
