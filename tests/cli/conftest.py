"""Helpers for driving the real `idp` CLI through the root ``runner`` fixture."""
from __future__ import annotations

import json

import pytest

from ..helpers import PASSWORD


def assert_one_line_error(result, *fragments: str) -> str:
    """The command failed with a non-zero exit and one ``Error:`` line naming the problem;
    nothing half-done on stdout, no traceback."""
    assert result.exit_code != 0, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def idp(runner):
    """``idp(...)`` runs a command that must succeed; ``--json`` output comes back parsed."""

    def run(*args, input=None):
        result = runner(*args, input=input)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout) if "--json" in args else result.stdout

    return run


_ALICE: dict = {}


@pytest.fixture(scope="session")
def migrated_instance(migrated_instance, tmp_path_factory):
    """The root template plus realm ``acme`` with user alice, made once: the commands under test
    then run against them without generating keys and hashing a password in every test."""
    import shutil

    from idp import create_app

    from ..conftest import test_settings
    from ..helpers import Factory

    folder = tmp_path_factory.mktemp("cli-template")
    shutil.copytree(migrated_instance, folder, dirs_exist_ok=True)
    app = create_app(folder, settings=test_settings())
    with app.app_context():
        from idp.database import dispose_engine
        from idp.extensions import db

        factory = Factory(app)
        user = factory.user(factory.realm("acme"), email="alice@example.com", password=PASSWORD, name="Alice")
        _ALICE.update(id=user.id, email=user.email, name=user.name)
        db.session.remove()
        dispose_engine(db.engine)
    return folder


@pytest.fixture
def acme():
    """Realm ``acme``, present in every CLI test's instance next to ``default``."""
    return "acme"


@pytest.fixture
def alice(migrated_instance, acme):
    """User alice@example.com of realm ``acme`` (password ``helpers.PASSWORD``)."""
    return dict(_ALICE)
