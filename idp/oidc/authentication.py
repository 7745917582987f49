"""How the user behind a token authenticated, carried on the user object a grant hands to
Authlib (``grant_user`` at the authorization endpoint, ``authenticate_user``'s return at the
token endpoint), so that the code row, the token row and the access token's claims all read it
from the request they serve instead of from request-global state."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AuthenticationContext:
    """``auth_time``/``amr``/``acr``/``sid`` as recorded by the login; ``authorization_code_id``
    and ``family_id`` tie the tokens to the grant they came from (replay and rotation);
    ``organization_id`` is the organization the login was for, if any (``idp.organizations``)."""

    auth_time: int | None = None
    amr: list[str] = field(default_factory=list)
    acr: str | None = None
    sid: str | None = None
    authorization_code_id: int | None = None
    family_id: str | None = None
    organization_id: str | None = None
    #: RFC 8693: the acting party of an exchanged token (its ``act`` claim) and the clients it is
    #: for (its ``aud``; the issuer when None).
    act: dict | None = None
    audience: list[str] | None = None


class AuthenticatedUser:
    """A user together with how they authenticated. Authlib only calls ``get_user_id``; our
    hooks read ``authentication``; anything else (``email``, ``name``) is the user's."""

    def __init__(self, user, authentication: AuthenticationContext):
        self.user = user
        self.authentication = authentication

    def get_user_id(self):
        return self.user.get_user_id()

    def __getattr__(self, name):
        return getattr(self.user, name)


def authentication_of(user) -> AuthenticationContext:
    """The context a grant user carries (an empty one for a bare user or none)."""
    return getattr(user, "authentication", None) or AuthenticationContext()
