"""The migrations in migrations/ build the schema from an empty database, and that schema is
exactly what the models describe."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect

from idp import create_app
from idp.cli import main

from .conftest import test_settings as fast_test_settings


@pytest.fixture(scope="module")
def empty_instance(tmp_path_factory):
    return tmp_path_factory.mktemp("fresh")


@pytest.fixture(scope="module")
def upgraded_app(empty_instance):
    """One ``idp db upgrade`` of an empty instance for the module; every test leaves the
    database at head again."""
    assert not list(empty_instance.iterdir())
    result = CliRunner().invoke(main, ["--instance", str(empty_instance), "db", "upgrade"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.stdout
    app = create_app(empty_instance, settings=fast_test_settings())
    yield app
    with app.app_context():
        from idp.extensions import db

        db.session.remove()
        db.engine.dispose()


def _differences(app) -> list:
    from idp.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def test_db_upgrade_builds_the_whole_schema_on_an_empty_database(upgraded_app):
    from idp.extensions import db

    with upgraded_app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrated_schema_matches_the_models(upgraded_app):
    assert _differences(upgraded_app) == []


def test_db_upgrade_creates_the_default_realm_and_is_repeatable(upgraded_app, empty_instance):
    from idp.services.realms import list_realms

    again = CliRunner().invoke(main, ["--instance", str(empty_instance), "db", "upgrade"], catch_exceptions=False)

    assert again.exit_code == 0
    with upgraded_app.app_context():
        assert [realm.name for realm in list_realms()] == ["admin", "default"], "admin: the console's realm"
    current = CliRunner().invoke(main, ["--instance", str(empty_instance), "db", "current"], catch_exceptions=False)
    assert current.stdout.strip() == "current"


def test_migrations_run_down_to_empty_and_up_again(upgraded_app):
    from flask_migrate import downgrade, upgrade

    from idp.extensions import db

    with upgraded_app.app_context():
        db.session.remove()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
    assert _differences(upgraded_app) == []
