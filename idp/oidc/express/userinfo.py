"""The userinfo endpoint's lane (OpenID Connect Core §5.3): a bearer token that is active, for a
user who may still log in, with ``openid`` in its scope and bound to no DPoP key gets the user's
claims, exactly as ``idp.oidc.views.userinfo`` gives them. Any other token is declined, and
Flask's view answers with its error and challenge."""
from __future__ import annotations

from flask import current_app

from ...database import read_only_request
from .answer import ExpressAnswer

PATH = "userinfo"
METHODS = ("GET",)


#: Scopes whose claims are read through the user's roles and memberships (the ORM path).
RELATIONSHIP_SCOPES = frozenset({"roles", "organizations"})


def answer(request):
    from flask import g

    from ..claims import user_claims
    from ..server import active_access_token
    from ..tokens import active_user_token

    token = request.bearer_token()
    if token is None:
        return None
    found = active_user_token(g.realm, token)
    if found is None or found.dpop_jkt or "openid" not in found.scope.split():
        return None
    if found.organization_id is None and not RELATIONSHIP_SCOPES & set(found.scope.split()):
        return _claims_answer(user_claims(found.user, found.scope))
    read_only_request()
    row = active_access_token(g.realm, token)
    if row is None or row.dpop_jkt or row.user is None or row.user.disabled:
        return None
    return _claims_answer(user_claims(row.user, row.scope, organization_id=row.organization_id))


def _claims_answer(claims: dict) -> ExpressAnswer:
    """As Flask's ``jsonify`` writes them (the app's JSON provider)."""
    return ExpressAnswer.json(200, current_app.json.dumps(claims) + "\n")
