"""Per-process caches of what every token request reads and an administrator rarely changes:
realms, clients and each realm's signing keys (private, decrypted; and the published set); and
what every login asks of its realm's configuration: the event types its webhooks want, its
upstream providers' buttons, its auto-join domains (``webhooks``, ``identity_providers``,
``organization_domains`` are watched too).

A token request used to spend most of its time reading those three rows (and decrypting the
key) over and over. Here they are kept in memory, and never served stale:

- **Invalidation on write.** Any flush that inserts, updates or deletes a row of a watched table
  (``WATCHED_TABLES``), through the ORM or a bulk statement, marks its
  session; when that session commits, every cache of the process is dropped at once
  (``invalidate``), and the other processes are told:
  - on PostgreSQL, by ``NOTIFY idp_lookup_cache`` sent inside the writing transaction (so it is
    delivered exactly when the change becomes visible, and never for a rollback). Each process
    keeps one connection that ``LISTEN``s, in a daemon thread; a notification drops its caches.
    Until that connection is up, and whenever it breaks, the caches are off (every lookup goes to
    the database) and everything cached before is dropped: a process that might have missed a
    notification serves nothing from memory. This works across machines sharing the database.
  - on a SQLite file, by replacing a small stamp file next to the database
    (``<database>-lookup-stamp``) after the commit; each lookup compares the stamp's
    ``os.stat`` with the one it saw (a system call, no database statement), so a second process
    on the same file (``idp serve`` next to a CLI, two workers) sees the change on its next
    request. An in-memory SQLite database lives in one process: the in-process signal suffices.
- **No fill from a changing view.** A lookup made while its own session holds uncommitted
  changes to a watched table bypasses the cache (it reads, and must not remember, what may yet
  be rolled back). A value read while an invalidation happened (the generation moved) is used
  for that request but not kept; on SQLite neither is one read in a transaction that began
  before the lookup (its snapshot may predate the stamp just seen).
- **The hot path costs no round trip**, nor on PostgreSQL any system call: a generation number
  in memory, bumped by the writer's commit hook or the listener thread.

What is cached is row data (a dict of the mapped columns), never a live ORM object: each request
gets its own instance built from it and attached to its session (``attached``), so relationships
load lazily as before, and a change made to it is flushed and invalidates like any other (an
express lane's instances are for reading only, and one without a session reuses its thread's
untouched instance of the same row data: ``cached_row``). A
column added to ``Realm`` or ``Client`` is cached with no change here. Revocation lists,
counters, one-time codes, sessions, users and tokens are never cached: they are not read here.
"""
from __future__ import annotations

import copy
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..database import detached_instance
from ..extensions import db

log = logging.getLogger(__name__)

#: The tables whose rows (or derived values) the caches hold.
WATCHED_TABLES = frozenset({"realms", "clients", "signing_keys", "webhooks", "organization_domains",
                            "identity_providers"})
CHANNEL = "idp_lookup_cache"
#: Entries kept at most (client ids come from requests; only found clients are kept).
MAX_ENTRIES = 10_000
#: Values per token kept at most (``many=True``: a verified access token's claims). One is about
#: 1.2 KB, so 10,000 live tokens would have cost each worker about 12 MB of the 120 MB it may use
#: (issue 17); 1,000 hold a resource server's working set for a fraction of that.
MAX_TOKEN_ENTRIES = 1_000
_CHANGED = "idp.lookup_cache.changed"
#: Seconds between checks that the listening connection is alive.
HEARTBEAT = 5.0
#: Seconds without a check that passed after which the caches are off: a connection whose
#: network path died silently can block its check for as long as TCP retries (minutes), and
#: meanwhile a notification could not arrive (``_listening_recently``).
SILENCE_LIMIT = 3 * HEARTBEAT
_MISSING = object()

#: This process's id, kept current across forks: ``os.getpid()`` is a system call, and the
#: caches ask on every lookup whether the process is still the one that started them.
_process_id = os.getpid()


def _after_fork_in_child() -> None:
    global _process_id
    _process_id = os.getpid()


os.register_at_fork(after_in_child=_after_fork_in_child)


class LookupCache:
    """One app's cache (``current_app.extensions["idp.lookup_cache"]``)."""

    def __init__(self, database_url, *, enabled: bool = True):
        self.url = database_url
        self.enabled = enabled
        self.dialect = database_url.get_backend_name()
        self.generation = 0
        self._entries: dict[Any, tuple[Any, float | None]] = {}
        #: Values per token (``many=True``): as many as there are live tokens, so kept apart, and
        #: emptied when full without dropping the realms, clients and keys.
        self._many: dict[Any, tuple[Any, float | None]] = {}
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._listening = False
        #: ``time.monotonic()`` of the listener's last passed check (``_wait_for_notifications``).
        self._heard_at = 0.0
        self._stop = threading.Event()
        self._connection = None
        self._connection_lock = threading.Lock()
        self._wake_writer: int | None = None
        database = database_url.database or ""
        self.stamp_path = (f"{database}-lookup-stamp"
                           if self.dialect == "sqlite" and database and database != ":memory:"
                           and not database.startswith("file:") else None)
        self._stamp_seen: tuple | None = None

    # --- reading --------------------------------------------------------------------------

    def usable(self) -> bool:
        """Whether values may be served from (and kept in) memory right now. Only while serving
        requests (Flask's, or an express lane's: ``idp.oidc.express``): a CLI command or a
        migration reads once and exits, and must not leave a listener holding the database.
        On PostgreSQL, only while the listening connection is up; the listener thread takes in
        the notifications (``_keep_listening``), so this makes no system call: one would let go
        of the GIL, and under load each let-go is a thread switch (``_wait_for_notifications``)."""
        if not self.enabled or not has_app_context():
            return False
        if not (has_request_context() or g.get("express_request") is not None):
            return False
        if self._pid != _process_id:
            self._start_in_this_process()
        if self.dialect == "postgresql":
            return self._listening_recently()
        if self.stamp_path is not None:
            self._check_stamp()
        return True

    def _listening_recently(self) -> bool:
        """The listening connection is up and its thread has checked it within
        ``SILENCE_LIMIT`` (``time.monotonic`` makes no system call)."""
        return self._listening and time.monotonic() - self._heard_at <= SILENCE_LIMIT

    def current_generation(self) -> int | None:
        """The generation after taking in the invalidations that have arrived, or None while the
        caches are off. For callers outside a request (a WSGI layer in front of Flask) that keep
        derived values of their own, tagged with the generation they were built under: such a
        value is current while this returns the same number."""
        if not self.enabled:
            return None
        if self._pid != _process_id:
            self._start_in_this_process()
        if self.dialect == "postgresql":
            if not self._listening_recently():
                return None
        elif self.stamp_path is not None:
            self._check_stamp()
        return self.generation

    def get(self, key, load: Callable[[], Any], *, session: Session | None = None,
            valid_until: Callable[[Any], float | None] | None = None, many: bool = False):
        """The cached value of ``key``, or ``load()`` (kept unless it is None, the session holds
        uncommitted changes to a watched table, or an invalidation ran meanwhile).
        ``valid_until(value)``: a ``time.time()`` after which the value must be loaded again."""
        if not self.usable() or (session is not None and session.info.get(_CHANGED)):
            return load()
        entries = self._many if many else self._entries
        found = entries.get(key, _MISSING)
        if found is not _MISSING:
            value, until = found
            if until is None or time.time() < until:
                return value
        generation = self.generation
        # A SQLite read transaction keeps the snapshot it began with: a value read in one that
        # began before another process's commit (and stamp) would be old under a new generation.
        old_snapshot = self.dialect == "sqlite" and session is not None and _sqlite_transaction_open(session)
        value = load()
        if value is None or old_snapshot or (session is not None and session.info.get(_CHANGED)):
            return value
        until = valid_until(value) if valid_until else None
        with self._lock:
            if self.generation == generation and (self.dialect != "postgresql" or self._listening_recently()):
                if len(entries) >= (MAX_TOKEN_ENTRIES if many else MAX_ENTRIES):
                    entries.clear()
                entries[key] = (value, until)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._many.clear()

    # --- writing ----------------------------------------------------------------------------

    def changed(self) -> None:
        """A watched row changed and was committed by this process."""
        self.invalidate()
        if self.stamp_path is not None:
            self._write_stamp()

    # --- SQLite: the stamp file ---------------------------------------------------------------

    def _write_stamp(self) -> None:
        temporary = f"{self.stamp_path}.{os.getpid()}.{threading.get_ident()}"
        try:
            with open(temporary, "w") as stamp:
                stamp.write(f"{time.time_ns()} {os.getpid()}\n")
            os.replace(temporary, self.stamp_path)
        except OSError:
            log.warning("could not write the lookup cache stamp %s", self.stamp_path, exc_info=True)
        self._stamp_seen = self._stamp()

    def _stamp(self) -> tuple | None:
        try:
            status = os.stat(self.stamp_path)
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns, status.st_size

    def _check_stamp(self) -> None:
        stamp = self._stamp()
        if stamp != self._stamp_seen:
            self.invalidate()
            self._stamp_seen = stamp

    # --- PostgreSQL: the listening connection --------------------------------------------------

    def _start_in_this_process(self) -> None:
        """First use in this process (after a fork every worker opens its own connection)."""
        with self._lock:
            if self._pid == _process_id:
                return
            self._pid = _process_id
            self._listening = False
            self._connection = None
            self._entries.clear()
            self._many.clear()
            self.generation += 1
            self._stamp_seen = None
            if self.dialect == "postgresql":
                self._stop = threading.Event()
                wake_reader, self._wake_writer = os.pipe()
                threading.Thread(target=self._keep_listening, args=(self._stop, wake_reader),
                                 name="idp-lookup-cache-listener", daemon=True).start()

    def stop(self) -> None:
        """End the listening thread (woken at once); it closes its connection on the way out."""
        self._stop.set()
        with self._lock:  # closed once, even by two callers
            writer, self._wake_writer = self._wake_writer, None
        if writer is not None:
            try:
                os.write(writer, b"x")
                os.close(writer)
            except OSError:
                pass

    def _lost(self, connection, why: str) -> None:
        with self._lock:
            if self._connection is connection:
                self._connection = None
                self._listening = False
                self._entries.clear()
                self._many.clear()
                self.generation += 1
        log.warning("lookup cache: listening connection lost (%s); caches off until it is back", why)
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - it is gone either way
            log.debug("lookup cache: closing the lost connection failed", exc_info=True)

    def _keep_listening(self, stop: threading.Event, wake_reader: int) -> None:
        """Open the ``LISTEN`` connection, then wait on it for notifications, checking it every
        few seconds (a connection that died without a word is found by the check); open it
        again when it is lost."""
        import psycopg

        conninfo = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        delay = 0.1
        try:
            while not stop.is_set():
                connection = self._connection
                if connection is None:
                    try:
                        # a dead peer is found in seconds, not after TCP's minutes of retries
                        connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=5, keepalives=1,
                                                     keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
                                                     tcp_user_timeout=int(SILENCE_LIMIT * 1000))
                        connection.add_notify_handler(lambda _notification: self.invalidate())
                        connection.execute(f"LISTEN {CHANNEL}")
                    except psycopg.OperationalError as error:
                        if "does not exist" in str(error):
                            return  # the database was dropped (tests): caching stays off
                        log.warning("lookup cache: cannot listen (%s); caches off", error)
                        stop.wait(delay)
                        delay = min(delay * 2, 5.0)
                        continue
                    delay = 0.1
                    with self._lock:
                        self._connection = connection
                        self._entries.clear()
                        self._many.clear()
                        self.generation += 1
                        self._heard_at = time.monotonic()
                        self._listening = True
                    continue
                self._wait_for_notifications(connection, stop, wake_reader)
        finally:
            self._close_listening()
            os.close(wake_reader)

    def _wait_for_notifications(self, connection, stop: threading.Event, wake_reader: int) -> None:
        """Sleep on the listening socket until something arrives (or ``stop`` wakes the thread),
        at most ``HEARTBEAT`` seconds, and drop the caches for each notification; after a quiet
        ``HEARTBEAT``, check that the connection is alive.

        Requests used to look at the socket themselves (a ``select`` with no timeout before each
        one). Any system call lets go of the GIL, and with several threads busy in a worker each
        let-go is a switch between them: measured in-process with two threads busy, that check
        cost a client_credentials request 10-25% of its CPU (issue 17). Here the notification
        is taken in when this thread next holds the GIL, a moment after it reaches the socket:
        as before, a change made by another process reaches a worker milliseconds after the
        writer's commit (``tests/oidc/test_lookup_cache.py`` polls for it), and one made in this
        process at its commit (``changed``)."""
        try:
            readable = select.select([connection.pgconn.socket, wake_reader], [], [], HEARTBEAT)[0]
        except Exception:  # noqa: BLE001 - a closed connection has no socket (psycopg raises)
            self._lost(connection, "its socket failed")
            return
        if stop.is_set():
            return
        with self._connection_lock:
            if self._connection is not connection:
                return
            try:
                if readable:
                    pgconn = connection.pgconn
                    pgconn.consume_input()
                    while pgconn.notifies() is not None:
                        self.invalidate()
                else:
                    connection.execute("SELECT 1")
            except Exception as error:  # noqa: BLE001 - a broken connection turns the caches off
                self._lost(connection, str(error))
                return
            now = time.monotonic()
            if now - self._heard_at > SILENCE_LIMIT:
                # the caches were off a while (a slow check): what they held may have changed
                self.invalidate()
            self._heard_at = now

    def _close_listening(self) -> None:
        with self._connection_lock, self._lock:
            connection, self._connection, self._listening = self._connection, None, False
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing on the way out
                log.debug("lookup cache: closing the listening connection failed", exc_info=True)


def _sqlite_transaction_open(session: Session) -> bool:
    """Whether the session's SQLite connection is inside a transaction (after a write: the
    driver begins one only before data changes, so plain reads each see the latest commit)."""
    return bool(session.connection().connection.dbapi_connection.in_transaction)


def lookup_cache() -> LookupCache | None:
    return current_app.extensions.get("idp.lookup_cache") if has_app_context() else None


def cached(key, load: Callable[[], Any], **kwargs):
    """``load()``, through the current app's cache when there is one."""
    cache = lookup_cache()
    if cache is None:
        return load()
    # No session yet, no uncommitted change to look for: none is opened just to look.
    registry = db.session.registry
    return cache.get(key, load, session=registry() if registry.has() else None, **kwargs)


class CachedRow(NamedTuple):
    """What the cache keeps of a row: its mapped column values, and which of them are lists or
    dicts (JSON), copied for each instance made from it so that no instance shares them: a
    list of plain values (redirect URIs, grant types) by ``list``, anything nested by
    ``copy.deepcopy``."""

    values: dict
    flat_lists: tuple[str, ...]
    nested: tuple[str, ...]


_PLAIN = (str, int, float, bool, type(None))


def row_data(instance) -> CachedRow:
    mapper = inspect(instance).mapper
    values = {attr.key: copy.deepcopy(getattr(instance, attr.key)) for attr in mapper.column_attrs}
    flat_lists = tuple(key for key, value in values.items()
                       if isinstance(value, list) and all(isinstance(item, _PLAIN) for item in value))
    nested = tuple(key for key, value in values.items()
                   if isinstance(value, (list, dict)) and key not in flat_lists)
    return CachedRow(values, flat_lists, nested)


def _instance_of(model, row: CachedRow):
    """A detached instance of ``model`` holding ``row``'s values (``database.detached_instance``),
    its lists and nested values copied: a change to the instance never reaches the cache."""
    values = dict(row.values)
    for key in row.flat_lists:
        values[key] = list(values[key])
    for key in row.nested:
        values[key] = copy.deepcopy(values[key])
    return detached_instance(model, values)


def attached(model, row: CachedRow, session: Session, *, for_reading: bool = False):
    """An instance of ``model`` with ``row``'s values in ``session``: the one the session
    already holds for that primary key, or a new one (no SQL).

    ``for_reading``: the instance is not added to the session, only given it to load its
    relationships (``Session.enable_relationship_loading``): a change made to it is never saved.
    Adding cascades through every relationship of the mapper, the largest cost left in an
    express lane's request (``idp.oidc.express``), which only reads realms and clients."""
    mapper = inspect(model)
    identity = mapper.identity_key_from_primary_key([row.values[c.key] for c in mapper.primary_key])
    existing = session.identity_map.get(identity)
    if existing is not None:
        return existing
    instance = _instance_of(model, row)
    if for_reading:
        session.enable_relationship_loading(instance)
    else:
        session.add(instance)
    return instance


def cached_row(key, model, load: Callable[[], Any]):
    """The ``model`` instance ``load()`` finds, its row data cached under ``key``: attached to
    the request's session.

    In an express lane (``idp.oidc.express``) it is for reading only; and while the lane has
    not opened a database session (a client_credentials request needs none: realm, client and
    key all come from here), none is opened for it. Creating and closing one was a tenth of
    that request. Such an instance is detached: reading one of its relationships raises
    (``DetachedInstanceError``), and the lane hands the request to Flask
    (``tests/oidc/test_express_lanes.py`` checks that the lanes answer what they claim)."""
    holder: list = []

    def load_data():
        instance = load()
        if instance is None:
            return None
        holder.append(instance)
        return row_data(instance)

    if not has_app_context():
        return load()
    cache = current_app.extensions.get("idp.lookup_cache")
    registry = db.session.registry  # one context lookup, not one per use
    session = registry() if registry.has() else None
    row = cache.get(key, load_data, session=session) if cache is not None else load_data()
    if row is None:
        return None
    if holder:
        return holder[0]
    if g.get("express_request") is None:
        return attached(model, row, session if session is not None else registry())
    if session is not None:
        return attached(model, row, session, for_reading=True)
    return _lane_instance(model, row)


#: Per worker thread: the detached instance each cached row last gave an express lane.
_lane_instances = threading.local()
MAX_LANE_INSTANCES = 256


def _lane_instance(model, row: CachedRow):
    """A detached instance of ``row`` for an express lane with no session: the one this thread
    made from the very same row data last time, while it is as it was made, else a new one.

    Building the instance was a sixth of a client_credentials request (realm and client, on
    every request). A cached row is replaced, never changed, when its table changes, so the same
    row object means the same data; the instance never leaves its thread. It is made again when
    anything could have touched it: an attribute set (``modified``), a list changed in place, or
    a session that took it in (``session_id``; a commit there expires it)."""
    made = getattr(_lane_instances, "by_row", None)
    if made is None:
        made = _lane_instances.by_row = {}
    found = made.get(id(row))
    if found is not None and found[0] is row:
        instance = found[1]
        state = instance._sa_instance_state
        values = instance.__dict__
        if (state.session_id is None and not state.modified and not state.expired_attributes
                and all(values.get(key) == row.values[key] for key in row.flat_lists)):
            return instance
    elif len(made) >= MAX_LANE_INSTANCES:
        made.clear()
    instance = _instance_of(model, row)
    made[id(row)] = (row, instance)
    return instance


# --- invalidation on write -----------------------------------------------------------------------

def _mark(session: Session) -> None:
    if session.info.get(_CHANGED):
        return
    session.info[_CHANGED] = True
    try:
        connection = session.connection()
    except Exception:  # noqa: BLE001 - no transaction to notify in
        return
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"NOTIFY {CHANNEL}")


def _touches_watched(instances) -> bool:
    for instance in instances:
        table = getattr(type(instance), "__tablename__", None)
        if table in WATCHED_TABLES:
            return True
    return False


@event.listens_for(Session, "after_flush")
def _after_flush(session, _flush_context) -> None:
    if _touches_watched(session.new) or _touches_watched(session.dirty) or _touches_watched(session.deleted):
        _mark(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        _mark(state.session)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if session.info.pop(_CHANGED, False):
        cache = lookup_cache()
        if cache is not None:
            cache.changed()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_CHANGED, None)


def init_app(app, settings) -> None:
    from sqlalchemy.engine import make_url

    enabled = getattr(getattr(settings, "server", None), "lookup_cache", True)
    app.extensions["idp.lookup_cache"] = LookupCache(make_url(app.config["SQLALCHEMY_DATABASE_URI"]),
                                                     enabled=enabled)
