"""The token endpoint's lane: client_credentials and refresh_token requests that carry nothing
the lane cannot judge.

The request goes to the same ``RealmAuthorizationServer.create_token_response`` as Flask's view,
built in memory; its answer, success or OAuth error, is the server's own. Only the parameters a
grant's plain request has are taken (client authentication by secret, Basic or in the form):
``resource``/``audience``, client assertions and anything unknown are Flask's."""
from __future__ import annotations

from flask import current_app

PATH = "token"
METHODS = ("POST",)

CLIENT_SECRET_FIELDS = frozenset({"client_id", "client_secret"})
#: The grants this lane runs, with the fields their plain requests have.
GRANT_FIELDS = {
    "client_credentials": frozenset({"grant_type", "scope"}) | CLIENT_SECRET_FIELDS,
    "refresh_token": frozenset({"grant_type", "refresh_token", "scope"}) | CLIENT_SECRET_FIELDS,
}


def answer(request):
    fields = GRANT_FIELDS.get(request.form.get("grant_type"))
    if fields is None or not fields.issuperset(request.form):
        return None
    server = current_app.extensions["idp.authorization_server"]
    return server.create_token_response(request.oauth2_request())
