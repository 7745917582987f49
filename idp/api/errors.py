"""Errors of the management API, always JSON:
``{"error": code, "error_description": text, "fields": {field: message}}``.

Status codes: 400 a secret that does not check out (password, code, login token) or a body
that is not JSON; 401 no or a bad API key (unknown, revoked, expired); 403 a key of another realm,
a key without the route's scope (``insufficient_scope``, with ``scope`` naming it), or a login
that needs something the API cannot do; 404 no such resource; 409 the resource is not in a state that
allows it (an already-active credential, the last active SMS integration); 415 a body that is
not ``application/json``; 422 input with field-level messages; 429 a lock or a cool-down."""
from __future__ import annotations

from flask import jsonify


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str, *, fields: dict | None = None,
                 headers: dict | None = None, **extra):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.fields = fields or {}
        self.headers = headers or {}
        self.extra = extra

    def response(self):
        return error_response(self.status, self.error, self.description, fields=self.fields,
                              headers=self.headers, **self.extra)


def error_response(status: int, error: str, description: str, *, fields: dict | None = None,
                   headers: dict | None = None, **extra):
    response = jsonify(error=error, error_description=description, fields=fields or {}, **extra)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def invalid_fields(fields: dict[str, str], description: str = "Some fields are not valid.") -> ApiError:
    return ApiError(422, "invalid_request", description, fields=fields)


def not_found(description: str) -> ApiError:
    return ApiError(404, "not_found", description)


HTTP_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "temporarily_unavailable",
}


def register_error_handlers(blueprint) -> None:
    """Every error of an API route answers in JSON, after rolling back whatever the request had
    not committed (no half-written records)."""
    from authlib.oauth2 import OAuth2Error
    from flask import current_app
    from werkzeug.exceptions import HTTPException

    from ..extensions import db
    from ..mfa.base import FactorError
    from ..services import NotFound, ServiceError

    @blueprint.errorhandler(ApiError)
    def api_error(error: ApiError):
        db.session.rollback()
        return error.response()

    @blueprint.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        db.session.rollback()
        if isinstance(error, NotFound):
            return error_response(404, "not_found", error.message)
        if error.field:
            return error_response(422, "invalid_request", error.message, fields={error.field: error.message})
        return error_response(409, "conflict", error.message)

    @blueprint.errorhandler(FactorError)
    def factor_error(error: FactorError):
        db.session.rollback()
        if error.retry_after:
            return error_response(429, "too_many_requests", error.message,
                                  headers={"Retry-After": str(error.retry_after)}, retry_after=error.retry_after)
        return error_response(503, "code_not_sent", error.message)

    @blueprint.errorhandler(OAuth2Error)
    def oauth_error(error: OAuth2Error):
        db.session.rollback()
        status = error.status_code if error.status_code and error.status_code >= 400 else 400
        return error_response(status, error.error, error.description or error.error)

    @blueprint.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        status = error.code or 500
        return error_response(status, HTTP_ERROR_CODES.get(status, "invalid_request"), error.description or error.name)

    @blueprint.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        current_app.logger.exception("unhandled error in the API")
        return error_response(500, "server_error", "An unexpected error occurred.")
