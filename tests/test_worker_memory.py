"""A server process carries what logins and tokens need, and not the libraries that only some
deployments or some requests use: those load where they are first needed (the SCIM endpoints,
passkey ceremonies, a TOTP QR code, phone numbers, logins at an upstream, migrations). Each
weighs megabytes in every worker (``python bench/run.py`` reports the workers' size)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOADED_WHERE_USED = ("alembic", "flask_migrate", "scim2_models", "scim2_server", "scim2_flask", "pydantic",
                     "webauthn", "qrcode", "phonenumbers", "twilio", "requests")

APP_MODULES = """
import json, sys
from idp import create_app
create_app(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def test_creating_the_app_loads_none_of_the_libraries_few_requests_use(tmp_path):
    result = subprocess.run([sys.executable, "-c", APP_MODULES, str(tmp_path / "instance")], capture_output=True,
                            text=True, cwd=ROOT, timeout=120, check=True, env={"PATH": "/usr/bin:/bin"})
    modules = set(json.loads(result.stdout.splitlines()[-1]))
    assert "idp.scim.routes" in modules and "idp.mfa.webauthn" in modules, "the endpoints and factors are there"
    assert sorted(m for m in modules if m.split(".")[0] in LOADED_WHERE_USED) == []
