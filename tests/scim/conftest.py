"""A realm with a SCIM API key, and a client that speaks SCIM to it through Flask's test client."""
from __future__ import annotations

import pytest

from ..api.conftest import make_api_key

REALM = "acme"
SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimClient:
    def __init__(self, http, key):
        self.http = http
        self.key = key

    def request(self, method, path, json=None, *, realm=REALM, key=..., headers=None, data=None):
        headers = dict(headers or {})
        key = self.key if key is ... else key
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        kwargs = {}
        if json is not None:
            import json as jsonlib

            kwargs["data"] = jsonlib.dumps(json)
            headers.setdefault("Content-Type", SCIM_JSON)
        elif data is not None:
            kwargs["data"] = data
            headers.setdefault("Content-Type", SCIM_JSON)
        return self.http.open(f"/realms/{realm}/scim/v2{path}", method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json, **kwargs)

    def patch(self, path, operations, **kwargs):
        return self.request("PATCH", path, {"schemas": [PATCH_SCHEMA], "Operations": operations}, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def create_user(self, email, **attributes):
        response = self.post("/Users", {"schemas": [USER_SCHEMA], "userName": email, **attributes})
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def realm(factory):
    return factory.realm(REALM)


@pytest.fixture
def scim_key(app, realm):
    with app.app_context():
        return make_api_key(realm, "provisioning", scopes=["scim:write"])


@pytest.fixture
def scim(app, scim_key):
    return ScimClient(app.test_client(), scim_key)


def assert_scim_error(response, status, scim_type=None):
    """A SCIM error body (RFC 7644 §3.12), never an HTML page or a traceback."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["schemas"] == [ERROR_SCHEMA], body
    assert str(body["status"]) == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body
