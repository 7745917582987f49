"""Engine settings and schema state shared by the CLI, the server and the health check."""
from __future__ import annotations

import ast
import contextlib
import functools
import logging
import os
import threading
import weakref
from collections import namedtuple
from pathlib import Path
from typing import Any, NamedTuple

from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from .extensions import db

log = logging.getLogger(__name__)


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


def commit_keeping_loaded_state(*, no_disk_wait_if_only: frozenset[str] = frozenset()) -> None:
    """Commit without expiring the objects the session has loaded.

    A commit normally expires everything loaded, so the rest of the request reloads the realm,
    client, user and rows it already holds, one SELECT each. Use this only where nothing loaded
    was changed behind the session's back (by a bulk ``UPDATE``) and is read again afterwards:
    then what the request holds is what it committed.

    ``no_disk_wait_if_only``: tables whose changes may be lost in a crash. When the transaction
    wrote those tables and no other (``_tables_written``), on PostgreSQL the commit returns before
    its WAL reaches the disk (``SET LOCAL synchronous_commit = off``). The transaction is atomic
    and visible to everyone at once as usual, and commits stay in order (the next commit that
    waits flushes this one too); only a crash of PostgreSQL or of its machine within about half a
    second (or a failover to a standby) may lose it, as if it had not been made. Anything else
    the transaction wrote (a password rehashed on the way, a change a plug-in made) makes the
    commit wait as usual. The caller names the tables: a login's progress
    (``idp.login.transaction.LOGIN_PROGRESS_TABLES``). Each commit that waits costs the server a
    flush of its log: about a sixth of the bench's logins per second went into the six each login
    made (issue 17)."""
    session = db.session()
    if no_disk_wait_if_only and _tables_written(session) <= no_disk_wait_if_only:
        relax_commit_durability(session)
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


_TABLES_WRITTEN = "idp.tables_written"


def _tables_written(session) -> set[str]:
    """The tables the session's transaction has written so far: flushed (``_note_flushed``), by
    a bulk statement (``_note_bulk_statement``), or waiting to be flushed."""
    written = set(session.info.get(_TABLES_WRITTEN, ()))
    for instance in (*session.new, *session.dirty, *session.deleted):
        written.add(sa_inspect(instance).mapper.local_table.name)
    return written


@event.listens_for(Session, "after_flush")
def _note_flushed(session, _flush_context) -> None:
    written = session.info.setdefault(_TABLES_WRITTEN, set())
    for instance in (*session.new, *session.dirty, *session.deleted):
        written.add(sa_inspect(instance).mapper.local_table.name)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statement(state) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        state.session.info.setdefault(_TABLES_WRITTEN, set()).add(getattr(table, "name", "?"))


@event.listens_for(Session, "after_transaction_end")
def _forget_tables_written(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_TABLES_WRITTEN, None)


def relax_commit_durability(session) -> None:
    """The session's transaction commits without waiting for the disk, on PostgreSQL
    (``commit_keeping_loaded_state(no_disk_wait_if_only=...)`` says when that is right); nothing on
    SQLite, whose commits are its own."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO off")


def read_only_request() -> None:
    """This request only reads: on PostgreSQL its statements run without a transaction of their
    own (autocommit), so a lookup costs its one round trip and not ``BEGIN`` and ``ROLLBACK``
    besides. Call it before the request's first statement, and only where nothing is written
    (userinfo, introspection); anything already begun keeps its transaction.

    Only noted here (in ``g``, which lives as long as the request's session): the session takes
    its connection when its first statement runs (``_read_only_connection``). A request answered
    from the caches and ``DirectStatement`` opens no session and takes no connection; taking one (and
    giving it back at the end) cost an introspection a seventh of its time."""
    g.read_only_request = True


@event.listens_for(Session, "do_orm_execute")
def _read_only_connection(state) -> None:
    """The first statement of a ``read_only_request`` (a query, a lazy load, a ``get``): its
    connection is set to autocommit before the statement takes it."""
    if has_app_context() and g.pop("read_only_request", False):
        _statements_commit_on_their_own(state.session)


def _statements_commit_on_their_own(session) -> None:
    """From here on (until the session's transaction ends) each statement of ``session``
    commits on its own on PostgreSQL: no ``BEGIN``/``ROLLBACK`` round trips. Only before the
    session's first statement; anything already begun keeps its transaction. SQLite keeps its
    transactions (they cost no round trip)."""
    if db.engine.dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and getattr(transaction, "_connections", None):
        return  # a statement already ran in a transaction: it stays one
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def model_columns(model, prefix: str = "") -> list:
    """``model``'s columns, each labelled ``prefix`` + its attribute's name: what a
    ``DirectStatement`` selects to make instances of ``model`` (``model_values``)."""
    return [prop.columns[0].label(prefix + prop.key) for prop in sa_inspect(model).column_attrs]


def model_values(row, model, prefix: str = "") -> dict | None:
    """The attribute values of ``model`` in ``row`` (selected with ``model_columns``), or None
    where its primary key is NULL (an outer join that found nothing)."""
    keys, primary_keys = _attribute_keys(model)
    values = {key: getattr(row, prefix + key) for key in keys}
    if any(values[key] is None for key in primary_keys):
        return None
    return values


@functools.cache
def _attribute_keys(model) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``model``'s column attributes and those of its primary key, by name."""
    mapper = sa_inspect(model)
    return (tuple(prop.key for prop in mapper.column_attrs),
            tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key))


def session_has_written_nothing(session: Session) -> bool:
    """Whether a read outside ``session``'s transaction (a ``DirectStatement``) sees what the
    session's own query would: the session has nothing to flush and no transaction under way on
    a connection, so nothing it wrote and has not committed."""
    if session.new or session.dirty or session.deleted:
        return False
    transaction = session.get_transaction()
    return transaction is None or not getattr(transaction, "_connections", None)


def detached_instance(model, values: dict):
    """A detached instance of ``model`` holding ``values``, as if it had just been loaded and its
    session closed (no SQL): the values straight into the instance's dict, then committed all at
    once, as the ORM's loader fills a row in (``set_committed_value`` per column cost a quarter
    of a client_credentials request)."""
    instance = sa_inspect(model).class_manager.new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    return instance


def persistent_instance(session: Session, model, values: dict):
    """``model``'s instance for a row read outside the ORM (a ``DirectStatement``'s, as a dict
    of attribute values), in ``session`` as if the session had loaded it: the instance the
    session already holds for that primary key, else a new one, persistent, whose changes are
    flushed as an ``UPDATE`` (no SQL to make it). Relationships load lazily, as after a load."""
    _keys, primary_keys = _attribute_keys(model)
    held = session.identity_map.get(sa_inspect(model).identity_key_from_primary_key(
        [values[key] for key in primary_keys]))
    if held is not None:
        return held
    instance = detached_instance(model, values)
    session.add(instance)
    return instance


def with_user_statement(model, where) -> DirectStatement:
    """A ``DirectStatement`` for a row of ``model`` (which has a ``user_id`` and a ``user``
    relationship) and its user's, joined (``user__<attribute>``, all NULL for none): what
    ``persistent_with_user`` takes."""
    from .models import User

    table, users = model.__table__, User.__table__
    return DirectStatement(
        db.select(*model_columns(model), *model_columns(User, "user__"))
        .select_from(table.outerjoin(users, users.c.id == table.c.user_id))
        .where(where(table))
    )


def persistent_with_user(session: Session, model, row):
    """The ``model`` instance of a ``with_user_statement`` row, in ``session`` with its ``user``
    loaded (``persistent_instance`` both), as the ORM's query with the user joined gives it."""
    from .models import User

    instance = persistent_instance(session, model, model_values(row, model))
    if "user" not in instance.__dict__:
        user_values = model_values(row, User, "user__")
        set_committed_value(instance, "user",
                            persistent_instance(session, User, user_values) if user_values else None)
    return instance


class DirectStatement:
    """A prebuilt Core statement run straight on a driver's cursor (``direct_connection``): for
    the statements on the express lanes' hot path (``idp.oidc.express``), where what may have
    changed since the last request (a token's revocation, its user's lock and claims) must be
    read every time, and for the refresh's rotation (``idp.oidc.tokens``), which writes.

    SQLAlchemy's execution of even a cached Core statement (its cache key, the result's metadata
    from the cursor's description, a ``Row``) costs about twice the round trip it wraps (issue
    17's profiles: ~110 µs of CPU against ~45 µs for the refresh's read, ~100 µs against ~40 µs
    for introspection's). Here the statement is compiled once per dialect and each call only
    binds its values (through the bound columns' own processors: ``UTCDateTime``, JSON), sends
    them, and converts the row's values with the columns' result processors (``UTCDateTime``,
    SQLite's booleans), so values go in and come out as they would through SQLAlchemy. Each
    connection keeps one cursor for these statements (in its ``info``, which lives as long as
    the DBAPI connection): the driver's cursor remembers how to load each column type, which a
    new cursor looks up again.

    The statements run on a connection of their own (``direct_connection``), outside the request's
    session, so they bypass its unit of work and the engine's ``*_cursor_execute`` events: only
    for statements nothing in the session could have changed, and whose writes the session
    does not read back."""

    def __init__(self, statement):
        self.statement = statement
        # a SELECT's columns, or what an INSERT/UPDATE returns (none without RETURNING)
        columns = statement.selected_columns if hasattr(statement, "selected_columns") else statement.exported_columns
        self._result_columns = list(columns)
        self.row_type = namedtuple("DirectRow", columns.keys()) if self._result_columns else None  # distinct names
        self._compiled: dict = {}

    def first(self, engine, parameters: dict):
        """The first row (a named tuple of the selected or returned columns), or None; the
        statement on its own, committed as it runs (as in a ``direct_connection`` block, whose
        generator-based context manager costs a read on the hot path a few per cent)."""
        return self._run(engine, parameters, self.first_on)

    def all(self, engine, parameters: dict) -> list:
        """Every row, as ``first``."""
        return self._run(engine, parameters, self.all_on)

    def _run(self, engine, parameters: dict, fetch):
        if engine.dialect.name == "postgresql":
            direct = _thread_connection(engine)
            try:
                return fetch(direct, parameters)
            except BaseException as error:
                _forget_thread_connection(engine)
                if not (self.statement.is_select and isinstance(error, Exception) and direct.cursor.connection.broken):
                    raise
            # The thread's connection was broken (the server ended it, a proxy dropped it): a read
            # is sent again, once, on a new one. A write is not: it may have committed.
            direct = _thread_connection(engine)
            try:
                return fetch(direct, parameters)
            except BaseException:
                _forget_thread_connection(engine)
                raise
        pooled, direct = _checkout(engine)
        dbapi_connection = pooled.driver_connection
        try:
            rows = fetch(direct, parameters)
            if dbapi_connection.in_transaction:
                dbapi_connection.commit()  # the statement wrote
            return rows
        except BaseException:
            dbapi_connection.rollback()
            raise
        finally:
            pooled.close()

    def first_on(self, connection: DirectConnection, parameters: dict):
        """As ``first``, on ``connection`` (of ``direct_connection``)."""
        self.run_on(connection, parameters)
        row = connection.cursor.fetchone()
        return None if row is None else self._row(connection.dialect, row)

    def all_on(self, connection: DirectConnection, parameters: dict) -> list:
        """As ``all``, on ``connection`` (of ``direct_connection``)."""
        self.run_on(connection, parameters)
        return [self._row(connection.dialect, row) for row in connection.cursor.fetchall()]

    def _row(self, dialect, row):
        _sql, _names, _binders, processors = self._compiled[dialect.name]
        if processors:
            row = list(row)
            for index, process in processors:
                if row[index] is not None:
                    row[index] = process(row[index])
        return self.row_type._make(row)

    def run_on(self, connection: DirectConnection, parameters: dict) -> int:
        """Run the statement on ``connection`` (of ``direct_connection``); the rows it changed."""
        dialect, cursor = connection.dialect, connection.cursor
        sql, names, binders, _processors = self._compiled.get(dialect.name) or self._compile(dialect)
        if binders:
            parameters = dict(parameters)
            for name, bind in binders:
                parameters[name] = bind(parameters[name])
        values = tuple(parameters[name] for name in names) if names is not None else parameters
        try:
            cursor.execute(sql, values)
        except dialect.loaded_dbapi.Error as error:
            # As SQLAlchemy raises it, so that a database that is down reads as an outage (503,
            # ``web.is_backend_outage``) and not as a bug; without the values (token digests).
            raise DBAPIError.instance(sql, values, error, dialect.loaded_dbapi.Error, hide_parameters=True,
                                      dialect=dialect,
                                      connection_invalidated=dialect.is_disconnect(error, None, cursor)) from error
        return cursor.rowcount

    def _compile(self, dialect):
        compiled = self.statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()) or "POSTCOMPILE" in compiled.string:
            raise ValueError("a direct statement takes plain values only (no IN lists)")
        if compiled.escaped_bind_names:
            raise ValueError("a direct statement's parameters are plain names")
        names = list(compiled.positiontup) if compiled.positional else None
        binders = [(name, process) for name, bind in compiled.binds.items()
                   if (process := bind.type.dialect_impl(dialect).bind_processor(dialect))]
        processors = [(index, process) for index, column in enumerate(self._result_columns)
                      if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))]
        self._compiled[dialect.name] = prepared = (compiled.string, names, binders, processors)
        return prepared


class DirectConnection(NamedTuple):
    """Where ``DirectStatement`` runs: a pooled connection's cursor, and its engine's dialect."""

    cursor: Any
    dialect: Any


_DIRECT_CURSOR = "idp.direct_cursor"


@contextlib.contextmanager
def direct_connection(engine):
    """A connection for ``DirectStatement`` for the length of the block.

    On PostgreSQL it is the thread's own connection in autocommit (``_thread_connection``):
    each statement commits on its own as it runs, without ``BEGIN`` and ``COMMIT`` round trips
    (what must be atomic is one statement). A block that raises leaves it behind (closed): its
    state is unknown.

    On SQLite it is a pooled connection, given back when the block ends. Its driver begins a
    transaction before the first statement that writes: the block's writes are one transaction,
    committed when the block ends and rolled back if it raises (``rotate_refresh_token``'s
    claim and insert; a round trip costs nothing there)."""
    if engine.dialect.name == "postgresql":
        try:
            yield _thread_connection(engine)
        except BaseException:
            _forget_thread_connection(engine)
            raise
        return
    pooled, direct = _checkout(engine)
    dbapi_connection = pooled.driver_connection
    try:
        try:
            yield direct
        except BaseException:
            dbapi_connection.rollback()
            raise
        if dbapi_connection.in_transaction:
            dbapi_connection.commit()
    finally:
        pooled.close()


def _checkout(engine):
    """A pooled connection (closed by the caller) and the ``DirectConnection`` on it."""
    pooled = engine.raw_connection()
    try:
        dbapi_connection = pooled.driver_connection
        cursor = pooled.info.get(_DIRECT_CURSOR)
        if cursor is None or cursor.connection is not dbapi_connection:
            cursor = pooled.info[_DIRECT_CURSOR] = dbapi_connection.cursor()
    except BaseException:
        pooled.close()
        raise
    return pooled, DirectConnection(cursor, engine.dialect)


class _ThreadConnections:
    """The connections the threads of one process keep for one engine's direct statements on
    PostgreSQL, by thread id (a thread id is reused only once its thread has ended).

    Checking a pooled connection out and back in, and turning autocommit on and off around the
    statement, cost an introspection a fifth of its CPU (issue 17's profile, in-process: ~420
    against ~330 µs). So each thread keeps one connection, in autocommit for good, used for
    nothing else. It is detached from the engine's pool (a connection of its own, outside the
    pool's size: a server with many threads cannot exhaust the pool with them), so count one
    more connection per worker thread in ``max_connections``.

    They are closed when the engine is garbage collected (``weakref.finalize``), never by a
    process forked from the one that opened them (gunicorn's ``preload_app``): the child opens
    its own (``_thread_connection`` compares the process id)."""

    def __init__(self):
        self.pid = os.getpid()
        self.by_thread: dict[int, DirectConnection] = {}

    def forget(self, thread_id: int) -> None:
        direct = self.by_thread.pop(thread_id, None)
        if direct is not None:
            _close_quietly(direct)

    def close_all(self) -> None:
        if os.getpid() != self.pid:
            return  # the parent's connections: never closed (nor used) by a forked child
        while self.by_thread:
            _close_quietly(self.by_thread.popitem()[1])


_THREAD_CONNECTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_THREAD_CONNECTIONS_LOCK = threading.Lock()


def _thread_connection(engine) -> DirectConnection:
    """This thread's connection for ``engine``'s direct statements (PostgreSQL), opened the
    first time (``_ThreadConnections``)."""
    connections = _THREAD_CONNECTIONS.get(engine)
    if connections is None or connections.pid != os.getpid():
        with _THREAD_CONNECTIONS_LOCK:
            connections = _THREAD_CONNECTIONS.get(engine)
            if connections is None or connections.pid != os.getpid():
                connections = _THREAD_CONNECTIONS[engine] = _ThreadConnections()
                weakref.finalize(engine, connections.close_all)
    direct = connections.by_thread.get(threading.get_ident())
    if direct is None:
        pooled, direct = _checkout(engine)
        try:
            pooled.driver_connection.autocommit = True
            pooled.detach()  # from here on the driver's connection is ours alone to close
        except BaseException:
            pooled.invalidate()
            raise
        connections.by_thread[threading.get_ident()] = direct
    return direct


def dispose_engine(engine) -> None:
    """Close every connection this process holds to ``engine``'s database: the pool's
    (``Engine.dispose``) and those its threads keep for direct statements (``_ThreadConnections``),
    which the pool no longer owns. For whoever needs the database free of connections: a test
    that copies it as a template or drops it."""
    connections = _THREAD_CONNECTIONS.get(engine)
    if connections is not None:
        connections.close_all()
    engine.dispose()


def direct_statement_connections(engine) -> list:
    """The driver connections this process's threads keep for ``engine``'s direct statements
    (PostgreSQL; none on SQLite): what a trace of the statements a request sends watches besides
    the pool's (``statements_during`` in ``tests/oidc/test_lookup_cache.py``)."""
    connections = _THREAD_CONNECTIONS.get(engine)
    if connections is None or connections.pid != os.getpid():
        return []
    return [direct.cursor.connection for direct in list(connections.by_thread.values())]


def _forget_thread_connection(engine) -> None:
    """Close this thread's connection (a statement on it failed: broken, or in a state no one
    knows); the next direct statement opens another."""
    connections = _THREAD_CONNECTIONS.get(engine)
    if connections is not None and connections.pid == os.getpid():
        connections.forget(threading.get_ident())


def _close_quietly(direct: DirectConnection) -> None:
    try:
        direct.cursor.connection.close()
    except Exception:  # noqa: BLE001 - already broken: nothing left to close
        log.debug("closing a direct statement connection failed", exc_info=True)
