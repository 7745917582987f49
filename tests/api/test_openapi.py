"""The OpenAPI 3.1 document describes exactly the routes under /api/v1, with their methods."""
from __future__ import annotations

import re

IGNORED_METHODS = {"HEAD", "OPTIONS"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def flask_routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes.setdefault(path, set()).update(m for m in rule.methods if m not in IGNORED_METHODS)
    return routes


def documented_routes(document) -> dict[str, set[str]]:
    return {path: {m.upper() for m in item if m in HTTP_METHODS} for path, item in document["paths"].items()}


def test_every_api_route_is_documented_with_its_methods_and_nothing_else_is(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert documented_routes(document) == flask_routes(app)


def test_every_reference_in_the_document_resolves(client):
    document = client.get("/api/v1/openapi.json").get_json()
    text = str(document)
    for ref in set(re.findall(r"#/components/(\w+)/(\w+)", text)):
        assert ref[1] in document["components"][ref[0]], ref


def test_document_is_valid_openapi_when_the_validator_is_installed(client):
    import pytest

    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(client.get("/api/v1/openapi.json").get_json())


def test_path_parameters_are_declared(client):
    document = client.get("/api/v1/openapi.json").get_json()
    declared = document["components"]["parameters"]
    for path, item in document["paths"].items():
        names = {declared[p["$ref"].rsplit("/", 1)[1]]["name"] for p in item.get("parameters", [])}
        assert set(re.findall(r"{(\w+)}", path)) == names, path
