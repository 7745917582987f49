"""Engine settings and schema state shared by the CLI, the server and the health check."""
from __future__ import annotations

import ast
import functools
from pathlib import Path

from sqlalchemy import event


def configure_engine(engine) -> None:
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()


def forget_inherited_connections(app) -> None:
    """In a process forked from the one that built ``app`` (gunicorn's ``preload_app``): drop the
    pooled connections the parent opened, without closing them under the parent, so the two
    processes never talk over one socket. Redis clients notice the fork by themselves."""
    from .extensions import db
    from .ratelimit import limiter

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
    engine = getattr(limiter.storage, "engine", None) if limiter.enabled else None
    if engine is not None:
        engine.dispose(close=False)


def init_migrations(app) -> None:
    """Flask-Migrate on the migrations that come with the package (``idp.package_data``), once
    per app. Called where migrations run (``upgrade_schema``, the ``db`` commands), never in
    ``create_app``: Alembic costs every process about 11 MB that a server never uses (its health
    check reads the schema version with ``schema_is_current``, without Alembic)."""
    if "migrate" in app.extensions:
        return
    from flask_migrate import Migrate

    from .extensions import db
    from .package_data import migrations_folder

    Migrate(app, db, directory=str(migrations_folder()))


def upgrade_schema() -> None:
    """Run the Alembic migrations to head (inside an app context)."""
    from flask import current_app
    from flask_migrate import upgrade

    init_migrations(current_app._get_current_object())
    upgrade()


@functools.cache
def migration_heads(folder: str) -> frozenset[str]:
    """The head revisions of the Alembic scripts in ``folder``/versions: every ``revision`` that
    no script names as its ``down_revision``. Read from the scripts' top-level assignments, as
    Alembic's ``ScriptDirectory.get_heads`` sees them (a test holds the two equal), without
    importing Alembic or the scripts."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in Path(folder, "versions").glob("*.py"):
        values = {}
        for node in ast.parse(script.read_text(encoding="utf-8")).body:
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                else node.target if isinstance(node, ast.AnnAssign) and node.value is not None else None
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                values[target.id] = ast.literal_eval(node.value)
        if values.get("revision"):
            revisions.add(values["revision"])
            down = values.get("down_revision")
            parents.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - parents)


def schema_is_current() -> bool:
    """The database is at the head of the packaged migrations (its ``alembic_version`` rows)."""
    from sqlalchemy import inspect, text

    from .extensions import db
    from .package_data import migrations_folder

    with db.engine.connect() as conn:
        current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) \
            if inspect(conn).has_table("alembic_version") else set()
    return current == migration_heads(str(migrations_folder()))


def bootstrap() -> None:
    """Bring an instance up to date and make sure the default realm exists."""
    from .extensions import db
    from .services.realms import ensure_default_realm

    upgrade_schema()
    ensure_default_realm()
    db.session.commit()


def commit_keeping_loaded_state() -> None:
    """Commit without expiring the objects the session has loaded.

    A commit normally expires everything loaded, so the rest of the request reloads the realm,
    client, user and rows it already holds, one SELECT each. Use this only where nothing loaded
    was changed behind the session's back (by a bulk ``UPDATE``) and is read again afterwards:
    then what the request holds is what it committed."""
    from .extensions import db

    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def read_only_request() -> None:
    """This request only reads: on PostgreSQL its statements run without a transaction of their
    own (autocommit), so a lookup costs its one round trip and not ``BEGIN`` and ``ROLLBACK``
    besides. Call it before the request's first statement, and only where nothing is written
    (userinfo, introspection); anything already begun keeps its transaction."""
    statements_commit_on_their_own()


def statements_commit_on_their_own() -> None:
    """From here on (until the session's transaction ends) each statement commits on its own on
    PostgreSQL: no ``BEGIN``/``COMMIT`` round trips. For a request that reads and then writes in
    one statement (the refresh token's rotation); a write of several statements must first end
    this (``commit_keeping_loaded_state``), so that the next statement opens a transaction
    again. Only before the session's first statement; anything already begun keeps its
    transaction. SQLite keeps its transactions (they cost no round trip)."""
    from .extensions import db

    session = db.session()
    if db.engine.dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and getattr(transaction, "_connections", None):
        return  # a statement already ran in a transaction: it stays one
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
