"""idp.js, the browser helper (authrocket.js's authenticate/authenticateCode), run in Node
against a live provider: password -> needs_mfa -> code -> full login."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ..helpers import PASSWORD
from .conftest import EMAIL, enrol_totp, make_api_key, next_totp

IDP_JS = Path(__file__).resolve().parents[2] / "themes" / "default" / "static" / "idp.js"

HARNESS = """
globalThis.window = globalThis;
globalThis.location = { href: process.env.PAGE_URL };
globalThis.document = { currentScript: { src: process.env.SCRIPT_URL } };
require("vm").runInThisContext(require("fs").readFileSync(process.env.IDP_JS, "utf8"));
const call = JSON.parse(process.env.CALL);
IdP.configure({ realm: "acme", clientId: process.env.CLIENT_ID });
IdP[call.method](call.options).then(
  (result) => console.log(JSON.stringify({ ok: result })),
  (error) => console.log(JSON.stringify({ error: { message: error.message, status: error.status,
    code: error.error, fields: error.fields, attemptsLeft: error.attemptsLeft } })));
"""


@pytest.fixture
def run_idp_js(live_server, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)

    def run(client_id: str, method: str, **options) -> dict:
        env = {"PAGE_URL": "http://127.0.0.1:9999/", "IDP_JS": str(IDP_JS), "CLIENT_ID": client_id,
               "SCRIPT_URL": f"{live_server.url}/themes/default/static/idp.js",
               "CALL": json.dumps({"method": method, "options": options})}
        done = subprocess.run([node, str(harness)], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


def test_browser_helper_logs_in_a_user_with_an_authenticator_app(run_idp_js, client, factory):
    realm = factory.realm("acme", mfa_enabled=True, totp_enabled=True)
    client_id, _ = factory.client(realm)
    user = factory.user(realm, email=EMAIL)
    from .conftest import ApiClient

    secret = enrol_totp(ApiClient(client, make_api_key(realm)), user.id)

    wrong = run_idp_js(client_id, "authenticate", email=EMAIL, password="not the password")
    assert wrong["error"]["status"] == 400 and wrong["error"]["code"] == "invalid_credentials"

    first = run_idp_js(client_id, "authenticate", email=EMAIL, password=PASSWORD)["ok"]
    assert first["result"] == "needs_mfa" and first["token"].startswith("kli_")

    bad_code = run_idp_js(client_id, "authenticateCode", email=EMAIL, token=first["token"], code="000000")
    assert bad_code["error"]["code"] == "invalid_code" and bad_code["error"]["attemptsLeft"] == 9

    done = run_idp_js(client_id, "authenticateCode", email=EMAIL, token=first["token"], code=next_totp(secret))
    assert done["ok"]["result"] == "full_login"
    assert done["ok"]["user"]["email"] == EMAIL
