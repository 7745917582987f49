"""The login package authenticates and knows nothing of the protocols it serves: no module of
``idp/login/`` imports from ``idp.oidc``, nor any stage implementation (MFA, email
verification), which register themselves (``idp.login.stages``)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import idp

LOGIN = Path(idp.__file__).parent / "login"
#: The protocol layer and the surfaces above the login; the modules of stages registered by
#: other packages are added from the running app.
ABOVE_LOGIN = ("idp.oidc", "idp.api", "idp.admin", "idp.account")


@pytest.fixture(scope="module")
def forbidden(tmp_path_factory):
    from idp import create_app
    from tests.conftest import test_settings

    app = create_app(tmp_path_factory.mktemp("layering"), settings=test_settings())
    stage_modules = {type(stage).__module__ for stage in app.extensions["idp.login_stages"]}
    return ABOVE_LOGIN + tuple(sorted(m for m in stage_modules if not m.startswith("idp.login")))


def _imported_modules(path: Path):
    """Every module an ``import`` or ``from ... import`` in ``path`` names, made absolute."""
    package = "idp.login"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


@pytest.mark.parametrize("path", sorted(LOGIN.glob("*.py")), ids=lambda p: p.name)
def test_the_login_package_imports_no_protocol_and_no_stage_implementation(path, forbidden):
    assert "idp.mfa.stage" in forbidden and "idp.lifecycle.verification" in forbidden
    offending = [(line, module) for line, module in _imported_modules(path)
                 if any(module == f or module.startswith(f + ".") for f in forbidden)]
    assert offending == [], f"{path.name} imports {offending}"


def test_the_rule_catches_a_relative_import_of_the_protocol_layer(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from ..oidc.views import authorization_error\n")
    assert (2, "idp.oidc.views") in list(_imported_modules(sample))
