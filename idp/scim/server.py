"""The SCIM 2.0 service provider of each realm at ``/realms/<realm>/scim/v2/`` (RFC 7643/7644),
served by scim2-flask over ``storage.RealmStorage``: scim2-server validates requests, applies
PATCH and PUT, evaluates filters' syntax, ETags and pagination, and answers every error as a
SCIM error body.

Authentication: a management API key of the realm (or a server-level key) as ``Authorization:
Bearer idpk_...``, holding ``scim:read`` to read and ``scim:write`` to change. No key, or an
unknown, revoked or expired one: 401 with ``WWW-Authenticate: Bearer``; a key of another realm
or without the scope: 403. All answered as SCIM errors."""
from __future__ import annotations

from flask import Flask, g, request, url_for
from scim2_flask import ScimServer
from scim2_models import (Bulk, ChangePassword, ETag, Filter, ForbiddenException, InvalidValueException,
                          NotFoundException, Patch, SCIMException, ScimProvider, ServiceProviderConfig, Sort,
                          UnauthorizedException)
from scim2_models.resources.service_provider_config import AuthenticationScheme
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.routing import ROUTES

from ..services.api_keys import authenticate_api_key, key_allows
from ..services.realms import ADMIN_REALM, find_realm
from .routes import NAME, URL_PREFIX

#: The largest page a search returns (``filter.maxResults``).
MAX_RESULTS = 200
READ_METHODS = ("GET", "HEAD")


def service_provider_config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=True),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken, name="API key",
            description="A management API key of the realm with the scim:read or scim:write scope, sent as "
                        "'Authorization: Bearer idpk_...'", primary=True)],
    )


def build_provider() -> ScimProvider:
    from .storage import RESOURCE_MODULES

    models = [module.MODEL for module in RESOURCE_MODULES.values()]
    return ScimProvider(models=models, config=service_provider_config())


class RealmScimServer(ScimServer):
    """scim2-flask's server under a URL prefix that names the realm. Its blueprint is
    ``routes.scim_blueprint``, registered without this module; each of that blueprint's views
    and hooks calls ``serve``, ``authenticate`` or ``http_error`` here, which answer as
    scim2-flask's own views and error handlers do."""

    def __init__(self, app: Flask):
        from .storage import RealmStorage

        super().__init__(RealmStorage(), build_provider(), url_prefix=URL_PREFIX, name=NAME)
        self.service = self._create_service(app)
        self.handler = ScimHandler(self.service, self.storage)
        self._views = {route.name: self._make_view(route) for route in ROUTES}

    def serve(self, endpoint: str | None):
        """The answer of the route named ``endpoint`` (``None``: the fallback)."""
        try:
            return self._views[endpoint]() if endpoint is not None else self._fallback_view()
        except SCIMException as error:
            return self._handle_scim_exception(error)

    def authenticate(self):
        """``None`` when the caller may go on, else the SCIM error to answer."""
        try:
            _authenticate()
        except SCIMException as error:
            return self._handle_scim_exception(error)
        return None

    def http_error(self, error):
        return self._handle_http_exception(error)

    def _fallback_view(self, path: str = "", **_kwargs):
        return super()._fallback_view(path)

    def get_subject(self):
        return g.get("api_key")

    def read_body(self, scim_request: ScimRequest) -> bytes:
        """No attribute holds a NUL character (PostgreSQL refuses it in text), so a body with one
        is refused whole before anything reads it."""
        body = super().read_body(scim_request)
        if b"\x00" in body or b"\\u0000" in body:
            raise InvalidValueException(detail="Text must not contain NUL characters")
        return body

    def read_request(self) -> ScimRequest:
        prefix = url_for(f"{self.name}.search_root").rstrip("/")
        scim_request = ScimRequest(
            method=request.method,
            base_url=url_for(f"{self.name}.search_root", _external=True).rstrip("/"),
            path=request.path.removeprefix(prefix),
            query=request.args.to_dict(),
            headers=list(request.headers.items()),
            subject=self.get_subject(),
        )
        scim_request.body = self.read_body(scim_request)
        return scim_request


def _bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _authenticate():
    """The key first, then the realm: a key learns nothing about realms it cannot use."""
    name = g.get("scim_realm_name") or ""
    secret = _bearer_token()
    key = authenticate_api_key(secret) if secret and len(secret) <= 200 and "\x00" not in secret else None
    if key is None:
        raise UnauthorizedException(detail="Send an API key with the scim:read or scim:write scope as "
                                           "'Authorization: Bearer <key>'")
    if key.server_level and name == ADMIN_REALM or not key.server_level and key.realm.name != name:
        raise ForbiddenException(detail="This API key cannot be used in that realm")
    scope = "scim:read" if request.method in READ_METHODS else "scim:write"
    if not key_allows(key, scope):
        raise ForbiddenException(detail=f"This API key does not have the scope {scope}")
    realm = find_realm(name) if len(name) <= 64 and "\x00" not in name else None
    if realm is None:
        raise NotFoundException(detail="There is no such realm")
    g.realm = realm
    g.api_key = key
