"""The SCIM endpoints as ``create_app`` registers them, without loading SCIM's libraries:
scim2-models (pydantic) costs every process about 15 MB that only deployments provisioning over
SCIM use. The rules, endpoint names and hooks are those scim2-flask's blueprint has; the views,
the hooks' work and the error pages are ``server.RealmScimServer``'s, built on the first SCIM
request (``scim_server``)."""
from __future__ import annotations

import threading

from flask import Blueprint, current_app, g
from werkzeug.exceptions import HTTPException

from ..extensions import csrf

NAME = "scim"
URL_PREFIX = "/realms/<realm_name>/scim/v2"
#: scim2-flask's: the methods its fallback answers (with a SCIM error).
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: ``(method, pattern, endpoint)`` of each route of ``scim2_server.routing.ROUTES``, in its
#: order (literal routes first); a test holds the two equal.
ROUTES = (
    ("GET", "/ServiceProviderConfig", "service_provider_config"),
    ("GET", "/ResourceTypes", "resource_types"),
    ("GET", "/ResourceTypes/{resource_id}", "resource_type"),
    ("GET", "/Schemas", "schemas"),
    ("GET", "/Schemas/{resource_id}", "schema"),
    ("POST", "/Bulk", "bulk"),
    ("GET", "/Me", "me_query"),
    ("PUT", "/Me", "me_replace"),
    ("PATCH", "/Me", "me_patch"),
    ("DELETE", "/Me", "me_delete"),
    ("POST", "/Me", "me_create"),
    ("GET", "/", "search_root"),
    ("POST", "/.search", "search_root_with_body"),
    ("POST", "/{endpoint}/.search", "search_with_body"),
    ("GET", "/{endpoint}", "search"),
    ("POST", "/{endpoint}", "create"),
    ("GET", "/{endpoint}/{resource_id}", "query"),
    ("PUT", "/{endpoint}/{resource_id}", "replace"),
    ("PATCH", "/{endpoint}/{resource_id}", "patch"),
    ("DELETE", "/{endpoint}/{resource_id}", "delete"),
)

_building = threading.Lock()


def scim_server():
    """This app's ``RealmScimServer``, built on first use (in ``app.extensions["scim"]``, where
    scim2-flask keeps its servers)."""
    app = current_app._get_current_object()
    servers = app.extensions.setdefault("scim", {})
    if NAME not in servers:
        with _building:
            if NAME not in servers:
                from .server import RealmScimServer

                servers[NAME] = RealmScimServer(app)
    return servers[NAME]


def flask_rule(pattern: str) -> str:
    """scim2-flask's rule for a route (``endpoint`` is ``url_for``'s first argument, hence the name)."""
    return pattern.replace("{endpoint}", "<resource_endpoint>").replace("{resource_id}", "<resource_id>")


def _route_view(endpoint: str):
    def view(**_kwargs):
        return scim_server().serve(endpoint)

    view.__name__ = endpoint
    return view


def _fallback_view(path: str = "", **_kwargs):
    return scim_server().serve(None)


def _load_realm(endpoint, values):
    g.scim_realm_name = (values or {}).pop("realm_name", None)
    g.realm = None


def _add_realm_name(endpoint, values):
    if "realm_name" not in values and g.get("scim_realm_name") is not None:
        values["realm_name"] = g.scim_realm_name


def _authenticate():
    return scim_server().authenticate()


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _http_error(error: HTTPException):
    return scim_server().http_error(error)


def scim_blueprint() -> Blueprint:
    blueprint = Blueprint(NAME, __name__, url_prefix=URL_PREFIX)
    blueprint.register_error_handler(HTTPException, _http_error)
    for method, pattern, endpoint in ROUTES:
        blueprint.add_url_rule(flask_rule(pattern), endpoint, _route_view(endpoint), methods=[method])
    blueprint.add_url_rule("/", "fallback", _fallback_view, methods=METHODS, defaults={"path": ""})
    blueprint.add_url_rule("/<path:path>", "fallback", _fallback_view, methods=METHODS)
    blueprint.url_value_preprocessor(_load_realm)
    blueprint.url_defaults(_add_realm_name)
    blueprint.before_request(_authenticate)
    blueprint.after_request(_no_store)
    csrf.exempt(blueprint)
    return blueprint
