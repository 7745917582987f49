"""The token endpoint's lane: client_credentials, refresh_token and authorization_code requests
that carry nothing the lane cannot judge.

A plain client_credentials request the grant grants is answered by the grant itself
(``ClientCredentialsGrant.answer_plain_request``), and the same request again from that answer,
prepared (``prepared.py``), while nothing it was made from changes. Every other request goes to the same
``RealmAuthorizationServer.create_token_response`` as Flask's view, built in memory; its answer,
success or OAuth error, is the server's own. Only the parameters a grant's plain request has are
taken (client authentication by secret, Basic or in the form, or a public client's client_id
alone): ``resource``/``audience``, client assertions, a DPoP proof and anything unknown are
Flask's.

A request that fails after it spent its grant is not handed to Flask: a refresh whose token was
rotated, started over, would look like a reuse and end the family; a code exchange whose code
was claimed would look like a replayed code, revoke what it issued and be recorded as an
attack. A grant says so with ``g.grant_spent``, set before the commit that spends it; such a
failure is answered here, 500, as Flask answers an unexpected error."""
from __future__ import annotations

import logging

from flask import current_app, g

from ...services.keys import ACCESS_TOKEN_ALGORITHM, current_signing_key
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
            response = server.handle_response(granted.status, granted.token, granted.headers)
            key, kid = current_signing_key(g.realm, ACCESS_TOKEN_ALGORITHM)
            response.repeatable = {"client": granted.client, "key": key, "kid": kid,
                                   "algorithm": ACCESS_TOKEN_ALGORITHM, "token": granted.token}
            return response
    try:
        return server.create_token_response(request.oauth2_request())
    except Exception:
        if not g.get("grant_spent"):
            raise  # nothing was changed: Flask starts the request over
        log.exception("%s failed after it spent its grant", request.form["grant_type"])
        return ExpressAnswer.json(500, {"error": "server_error", "error_description": "An unexpected error occurred."})
