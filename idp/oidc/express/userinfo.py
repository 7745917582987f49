"""The userinfo endpoint's lane (OpenID Connect Core §5.3): a bearer token that is active, for a
user who may still log in, with ``openid`` in its scope and bound to no DPoP key gets the user's
claims, exactly as ``idp.oidc.views.userinfo`` gives them. Any other token is declined, and
Flask's view answers with its error and challenge.

The token and its user are read in one statement outside the session
(``tokens.read_access_token``); roles and organizations, when the scope or an organization
login asks for them, are read by the user's id as the view reads them, without a transaction
(``read_only_request``)."""
from __future__ import annotations

from flask import current_app, g

from ...database import read_only_request
from ..claims import user_claims
from ..tokens import TokenSnapshot, read_access_token
from .answer import ExpressAnswer

PATH = "userinfo"
METHODS = ("GET",)


def answer(request):
    token = request.bearer_token()
    if token is None:
        return None
    found = read_access_token(g.realm, token)
    if not _serves_userinfo(found):
        return None
    read_only_request()
    return _claims_answer(user_claims(found.user, found.scope, organization_id=found.organization_id))


def _serves_userinfo(found) -> bool:
    """What the view accepts from a bearer token: a user's token (a client_credentials token
    has no user), active, for a user not disabled, with ``openid`` in its scope, not DPoP-bound."""
    return (isinstance(found, TokenSnapshot) and found.user is not None and not found.user.disabled
            and not found.is_revoked() and not found.is_expired() and not found.dpop_jkt
            and "openid" in found.scope.split())


def _claims_answer(claims: dict) -> ExpressAnswer:
    """As Flask's ``jsonify`` writes them (the app's JSON provider)."""
    return ExpressAnswer.json(200, current_app.json.dumps(claims) + "\n")
