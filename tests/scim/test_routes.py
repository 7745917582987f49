"""The SCIM endpoints are registered before scim2's libraries load (``idp.scim.routes``); they
must stay the routes those libraries serve."""
from __future__ import annotations


def test_the_registered_routes_are_scim2_servers_own():
    from scim2_flask.extension import METHODS
    from scim2_server.routing import ROUTES

    from idp.scim import routes

    assert [(route.method, route.pattern, route.name) for route in ROUTES] == list(routes.ROUTES)
    assert METHODS == routes.METHODS


def test_a_provisioning_client_is_answered_by_scim_after_a_worker_served_only_logins(app, scim):
    """The first SCIM request of a process builds the server; errors before it (no key) are
    already SCIM errors."""
    assert "scim" not in app.extensions
    refused = scim.get("/Users", key=None)
    assert refused.status_code == 401 and refused.headers["Cache-Control"] == "no-store"
    assert refused.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert scim.get("/ServiceProviderConfig").status_code == 200
