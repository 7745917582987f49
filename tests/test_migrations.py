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
from idp.database import init_migrations, migration_heads
from idp.package_data import migrations_folder

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
    init_migrations(app)
    yield app
    with app.app_context():
        from idp.database import dispose_engine
        from idp.extensions import db

        db.session.remove()
        dispose_engine(db.engine)


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


def test_the_health_check_sees_the_heads_alembic_sees(upgraded_app):
    """``/healthz`` reads the heads from the scripts without Alembic (which a server never
    loads); they must be Alembic's own."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    with upgraded_app.app_context():
        script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        assert migration_heads(str(migrations_folder())) == set(script.get_heads())


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


EMAIL_KEYS_REVISION = "b414b0e14b7d"


def _previous_revision(revision: str) -> str:
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_revision(revision).down_revision


def _add_user_as_before_email_keys(connection, like_user_id: str, *, email: str, realm_id: int | None = None,
                                   seconds_later: int) -> str:
    """A copy of an existing row with another id and address, written at the schema before
    email keys (so whatever columns that schema has are filled like the original's)."""
    import datetime as dt
    import uuid

    import sqlalchemy as sa

    users = sa.Table("users", sa.MetaData(), autoload_with=connection)
    row = dict(connection.execute(sa.select(users).where(users.c.id == like_user_id)).mappings().one())
    row.update(id=uuid.uuid4().hex, email=email, created_at=row["created_at"] + dt.timedelta(seconds=seconds_later))
    if realm_id is not None:
        row["realm_id"] = realm_id
    connection.execute(users.insert().values(**row))
    return row["id"]


def test_email_key_migration_keeps_the_oldest_of_accounts_that_collide_and_names_the_others(app, capsys):
    """Before email keys, SQLite let ``Émile@`` and ``émile@`` be two accounts of one realm. The
    upgrade must not fail on them: the oldest keeps the address's key, the others get none (no
    login or lookup by email reaches them) and a warning names each."""
    from flask_migrate import downgrade, upgrade

    from idp.extensions import db
    from idp.models import User
    from idp.services.realms import create_realm, get_realm
    from idp.services.users import authenticate_password, create_user, find_user_by_email

    from .helpers import PASSWORD

    init_migrations(app)
    with app.app_context():
        oldest = create_user(get_realm("default"), email="Émile@example.com", password=PASSWORD)
        other_realm = create_realm("other")
        db.session.commit()
        oldest_id, other_realm_id = oldest.id, other_realm.id
        db.session.remove()

        downgrade(revision=_previous_revision(EMAIL_KEYS_REVISION))
        with db.engine.begin() as connection:
            younger = _add_user_as_before_email_keys(connection, oldest_id, email="émile@example.com", seconds_later=60)
            youngest = _add_user_as_before_email_keys(connection, oldest_id, email="ÉMILE@example.com",
                                                      seconds_later=120)
            elsewhere = _add_user_as_before_email_keys(connection, oldest_id, email="émile@example.com",
                                                       realm_id=other_realm_id, seconds_later=180)
        upgrade()

        keys = dict(db.session.execute(db.select(User.id, User.email_normalized)).all())
        assert keys[oldest_id] == keys[elsewhere] == "émile@example.com", "one account per realm keeps its key"
        assert keys[younger] is None and keys[youngest] is None
        for typed in ("émile@example.com", "ÉMILE@example.com"):
            assert find_user_by_email(get_realm("default"), typed).id == oldest_id
            assert authenticate_password(get_realm("default"), typed, PASSWORD).id == oldest_id
        assert find_user_by_email(get_realm("other"), "Émile@example.com").id == elsewhere

    # alembic's loggers print to stderr (migrations/alembic.ini), as ``idp db upgrade`` shows them
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("WARNI")]
    assert len(warnings) == 2, warnings
    assert younger in warnings[0] and "émile@example.com" in warnings[0] and oldest_id in warnings[0]
    assert youngest in warnings[1] and "ÉMILE@example.com" in warnings[1]
    assert _differences(app) == []


def test_account_left_without_a_key_gets_one_with_a_new_address(app):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import create_user, find_user_by_email, update_user

    with app.app_context():
        user = create_user(get_realm("default"), email="emile@example.com", password=None)
        user.email_normalized = None  # as the migration leaves a younger duplicate
        db.session.commit()
        assert find_user_by_email(get_realm("default"), "emile@example.com") is None
        update_user(user, email="emile.2@example.com")
        db.session.commit()
        assert find_user_by_email(get_realm("default"), "Emile.2@example.com").id == user.id


API_KEY_SCOPES_REVISION = "3b8e6f1a2c5d"


def test_keys_made_before_scopes_keep_doing_everything_in_their_realm(app):
    """A key an operator's script used before scopes existed must not break with the upgrade:
    it gets every scope a realm key can hold."""
    import datetime as dt

    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from idp.extensions import db
    from idp.models import ApiKey
    from idp.services.api_keys import SCOPES, _digest
    from idp.services.realms import get_realm

    init_migrations(app)
    with app.app_context():
        realm_id = get_realm("default").id
        db.session.remove()
        downgrade(revision=_previous_revision(API_KEY_SCOPES_REVISION))
        with db.engine.begin() as connection:
            keys = sa.Table("api_keys", sa.MetaData(), autoload_with=connection)
            assert "scopes" not in keys.c
            connection.execute(keys.insert().values(
                realm_id=realm_id, name="old script", prefix="idpk_oldscri", key_digest=_digest("idpk_oldscript"),
                created_at=dt.datetime.now(dt.timezone.utc)))
        upgrade()

        key = db.session.scalar(db.select(ApiKey).filter_by(name="old script"))
        assert set(key.scopes) == set(SCOPES) and key.expires_at is None and key.is_active()
    client = app.test_client()
    response = client.get("/api/v1/realms/default/users", headers={"Authorization": "Bearer idpk_oldscript"})
    assert response.status_code == 200
    assert _differences(app) == []
