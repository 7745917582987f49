"""The protocol side of a finished login: the request that started it is answered here.

``idp.login`` ends a login with a ``LoginResult`` and asks the answer registered for the
login's purpose (``idp.login.resume``) to respond. For an authorization request that is the
authorization response: the stored request is rebuilt and handed to Authlib with the user and
how they authenticated (``AuthenticatedUser``), so the code row records ``auth_time``, ``amr``,
``acr`` and ``sid`` exactly as the login did."""
from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import AccessDeniedError
from flask import url_for

from ..extensions import db
from ..login.resume import AUTHORIZATION, LoginResult, register_answer
from ..login.stages import state_of
from .authentication import AuthenticatedUser, AuthenticationContext


def authenticated_user(result: LoginResult, **extra) -> AuthenticatedUser:
    return AuthenticatedUser(result.user, AuthenticationContext(
        auth_time=result.auth_time, amr=list(result.amr), acr=result.acr, sid=result.sid, **extra))


def login_organization_id(txn) -> str | None:
    """The organization the login was for, as its ``organization`` stage decided it
    (``idp.organizations.stage``)."""
    return state_of(txn, "organization").get("organization_id")


class AuthorizationAnswer:
    """Answers ``/authorize``: a redirect to the client with a code, or with an error."""

    def complete(self, txn, result: LoginResult):
        from .server import authorization_server
        from .views import authorization_error

        issuer_url = url_for("oidc.authorize", realm_name=txn.realm.name, _external=True)
        oauth_request = authorization_server.authorization_request_from(issuer_url, txn.authorization_request)
        try:
            grant = authorization_server.get_authorization_grant(oauth_request)
        except OAuth2Error as error:
            db.session.commit()
            return authorization_error(error)
        return authorization_server.create_authorization_response(
            request=oauth_request, grant=grant,
            grant_user=authenticated_user(result, organization_id=login_organization_id(txn)))

    def deny(self, txn, reason: str):
        from .views import authorization_error

        error = AccessDeniedError(redirect_uri=txn.authorization_request.get("redirect_uri"))
        error.state = txn.authorization_request.get("state")
        return authorization_error(error)


def init_app(app) -> None:
    register_answer(app, AUTHORIZATION, AuthorizationAnswer())
