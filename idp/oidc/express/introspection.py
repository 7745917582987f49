"""The introspection endpoint's lane (RFC 7662): a resource server authenticating with its secret
asks about a token. The same ``RealmIntrospectionEndpoint`` as Flask's view answers: a plain
request (``idp.oidc.plain_requests``) by its ``answer_plain_request``, without Authlib's
dispatch around it, any other through that dispatch. The token and its user are read in one
statement outside the session (``tokens.read_access_token``), anything else (a client not in
the cache, roles) on a connection without a transaction of its own (``read_only_request``), as
the view does."""
from __future__ import annotations

from flask import current_app

from ...database import read_only_request

PATH = "introspect"
METHODS = ("POST",)
FIELDS = frozenset({"token", "token_type_hint", "client_id", "client_secret"})


def answer(request):
    if not request.form.get("token") or not FIELDS.issuperset(request.form):
        return None
    read_only_request()
    server = current_app.extensions["idp.authorization_server"]
    answered = server.answer_plain_endpoint_request("introspection", request)
    if answered is not None:
        return answered
    return server.create_endpoint_response("introspection", request.oauth2_request())
