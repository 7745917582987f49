"""The token endpoint's lane: client_credentials, refresh_token and authorization_code requests
that carry nothing the lane cannot judge.

A plain client_credentials request the grant grants is answered by the grant itself
(``ClientCredentialsGrant.answer_plain_request``). Every other request goes to the same
``RealmAuthorizationServer.create_token_response`` as Flask's view, built in memory; its answer,
success or OAuth error, is the server's own. Only the parameters a grant's plain request has are
taken (client authentication by secret, Basic or in the form): ``resource``/``audience``, client
assertions and anything unknown are Flask's.

A refresh that fails after its token was rotated (committed) is not handed to Flask: started
over, it would find the token spent, a reuse that ends the family. It is answered here, 500."""
from __future__ import annotations

import logging

from flask import current_app, g

from ..grants.client_credentials import ClientCredentialsGrant
from .answer import ExpressAnswer

log = logging.getLogger(__name__)

PATH = "token"
METHODS = ("POST",)

CLIENT_SECRET_FIELDS = frozenset({"client_id", "client_secret"})
#: The grants this lane runs, with the fields their plain requests have.
GRANT_FIELDS = {
    "client_credentials": frozenset({"grant_type", "scope"}) | CLIENT_SECRET_FIELDS,
    # a public client sends its client_id alone; a DPoP-bound token comes with a DPoP proof,
    # which is Flask's (``FLASK_ONLY_HEADERS``)
    "refresh_token": frozenset({"grant_type", "refresh_token", "scope"}) | CLIENT_SECRET_FIELDS,
    # the code exchange that ends every login: a fifth of its CPU was Flask's
    "authorization_code": frozenset({"grant_type", "code", "redirect_uri", "code_verifier"}) | CLIENT_SECRET_FIELDS,
}


def answer(request):
    fields = GRANT_FIELDS.get(request.form.get("grant_type"))
    if fields is None or not fields.issuperset(request.form):
        return None
    server = current_app.extensions["idp.authorization_server"]
    if request.form["grant_type"] == "client_credentials":
        granted = ClientCredentialsGrant.answer_plain_request(server, request)
        if granted is not None:
            return server.handle_response(*granted)
    try:
        return server.create_token_response(request.oauth2_request())
    except Exception:
        if not (g.get("refresh_token_rotated") or g.get("authorization_code_claimed")):
            raise  # nothing was changed: Flask starts the request over
        log.exception("%s failed after it spent its grant", request.form["grant_type"])
        return ExpressAnswer.json(500, {"error": "server_error", "error_description": "An unexpected error occurred."})
