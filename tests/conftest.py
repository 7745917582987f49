"""Shared fixtures: a migrated instance folder per test (copied from one migrated once per
session), the Flask test client, the CLI runner, factories, and a live server on loopback.

``IDP_TEST_DATABASE=postgres`` (with ``IDP_TEST_DATABASE_URL``) runs each test on its own
PostgreSQL database instead of the SQLite file in its instance folder: see tests/databases.py."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import has_app_context
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from idp import create_app
from idp.config import Settings, load_settings

from . import databases
from .helpers import FAST_ARGON2

if databases.postgres_mode():
    create_app = databases.install_create_app()


def test_settings(**overrides) -> Settings:
    settings = load_settings(None, environ={})
    settings.security.argon2_time_cost, settings.security.argon2_memory_cost, settings.security.argon2_parallelism = FAST_ARGON2
    # No background purge racing what a test arranges (an expired link it is about to open);
    # tests/test_purge.py turns it on.
    settings.maintenance.purge_interval = 0
    for section, values in overrides.items():
        for key, value in values.items():
            setattr(getattr(settings, section), key, value)
    return settings


@pytest.fixture(scope="session", autouse=True)
def postgres_databases():
    """In PostgreSQL mode, the session's test databases; ``idp.create_app`` (and so the CLI)
    then builds each app on the database of its instance folder. None on SQLite."""
    if not databases.postgres_mode():
        yield None
        return
    admin_url = os.environ.get("IDP_TEST_DATABASE_URL")
    if not admin_url:
        pytest.exit("IDP_TEST_DATABASE=postgres needs IDP_TEST_DATABASE_URL "
                    "(postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB, a role that may create databases)", 2)
    pg = databases.PostgresDatabases(admin_url)
    pg.drop_stale()
    databases.active = pg
    try:
        yield pg
    finally:
        databases.active = None
        pg.close()


@pytest.fixture(autouse=True)
def drop_test_databases(postgres_databases):
    """Drop the PostgreSQL databases a test cloned, once its apps are torn down."""
    if postgres_databases is None:
        yield
        return
    before = len(postgres_databases.handed_out)
    yield
    for name in postgres_databases.handed_out[before:]:
        postgres_databases.drop_later(name)


@pytest.fixture
def database_url(instance_path, postgres_databases) -> str:
    """The SQLAlchemy URL of this test's database, for a server started in another process."""
    if postgres_databases is not None:
        return postgres_databases.url_for(instance_path)
    return f"sqlite:///{instance_path / 'idp.sqlite3'}"


@pytest.fixture(scope="session")
def migrated_instance(tmp_path_factory, postgres_databases) -> Path:
    folder = tmp_path_factory.mktemp("template-instance")
    if postgres_databases is not None:
        postgres_databases.attach_new(folder)
    app = create_app(folder, settings=test_settings())
    with app.app_context():
        from idp.database import bootstrap
        from idp.database import dispose_engine
        from idp.extensions import db

        bootstrap()
        db.session.remove()
        dispose_engine(db.engine)
    return folder


@pytest.fixture
def instance_path(tmp_path, migrated_instance) -> Path:
    folder = tmp_path / "instance"
    shutil.copytree(migrated_instance, folder)
    return folder


@pytest.fixture
def make_app(instance_path):
    """Build an app on the test's instance folder; keyword overrides per settings section."""
    created = []

    def factory(public_url: str = "", **overrides):
        overrides.setdefault("server", {})
        overrides["server"].setdefault("public_url", public_url)
        app = create_app(instance_path, settings=test_settings(**overrides), test_config={"TESTING": True})
        app.test_client_class = RequestIsolatingClient
        created.append(app)
        return app

    yield factory
    from idp.mail import wait_for_deliveries

    for app in created:
        # Nothing of the test may still be running when its database is dropped (PostgreSQL
        # ends a dropped database's connections, and a mail job or listener would fail loudly).
        wait_for_deliveries(app, timeout=10)
        app.extensions["idp.lookup_cache"].stop()
        with app.app_context():
            from idp.database import dispose_engine
            from idp.extensions import db

            db.session.remove()
            dispose_engine(db.engine)


class RequestIsolatingClient(FlaskClient):
    """Each request runs in an app context of its own, as on a real server: a test that holds an
    app context open (the ``factory`` fixture) must not share ``g`` or the database session with
    the requests it makes."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            from idp.extensions import db

            db.session.expire_all()  # what the test holds may have changed in the request
        return response


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def runner(instance_path, monkeypatch):
    """Runs the real `idp` CLI on the test's instance folder (fast argon2 via environment)."""
    from idp.cli import main

    monkeypatch.setenv("IDP_SECURITY_ARGON2_TIME_COST", str(FAST_ARGON2[0]))
    monkeypatch.setenv("IDP_SECURITY_ARGON2_MEMORY_COST", str(FAST_ARGON2[1]))
    monkeypatch.setenv("IDP_SECURITY_ARGON2_PARALLELISM", str(FAST_ARGON2[2]))
    cli_runner = CliRunner()

    def invoke(*args, input=None):
        return cli_runner.invoke(main, ["--instance", str(instance_path), *args], input=input,
                                 catch_exceptions=False)

    return invoke


class LiveServer:
    def __init__(self, app, server, thread):
        self.app = app
        self.server = server
        self.thread = thread
        self.url = app.extensions["idp.settings"].server.public_url

    def realm_url(self, realm: str) -> str:
        return f"{self.url}/realms/{realm}"


def start_live_server(make_app, **overrides) -> LiveServer:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    app = make_app(public_url=f"http://127.0.0.1:{port}", **overrides)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return LiveServer(app, server, thread)


@pytest.fixture
def live_server(make_app):
    server = start_live_server(make_app)
    yield server
    server.server.shutdown()
    server.thread.join(timeout=5)


@pytest.fixture
def factory(app):
    from .helpers import Factory

    with app.app_context():
        yield Factory(app)


@pytest.fixture
def mailbox(app, instance_path):
    """The mail outbox the provider writes to (``tests.lifecycle.conftest.Mailbox``), for any
    suite whose stories read a mail (registrations confirm their address by mail)."""
    from .lifecycle.conftest import Mailbox

    return Mailbox(app, Path(instance_path) / "mail-outbox.jsonl")
