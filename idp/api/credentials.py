"""Credentials of a user as the management API shows them (authrocket-2fa.txt, "Enrollment via
the AuthRocket API"): each second factor the user holds or is enrolling, one ``Authenticator``
row each, named by its random id.

Every ``POST .../credentials`` makes a new pending credential with its own id (an earlier
pending one keeps its id and secret until it expires and is purged). Verifying it activates it
through ``idp.mfa.flows``: wrong codes count against the credential's own limit, not the user's
login lock, and the user's first factor brings recovery codes, returned once in that answer.
Deleting the user's last factor turns MFA off for them unless the realm requires it."""
from __future__ import annotations

from ..extensions import db
from ..mfa import flows
from ..mfa.base import AlreadyEnrolled, FactorError
from ..mfa.registry import get_factor, registry
from ..services import NotFound, ServiceError
from .errors import ApiError


class CredentialConflict(ApiError):
    def __init__(self, description: str):
        super().__init__(409, "credential_already_active", description)


def credential_types() -> tuple[str, ...]:
    return tuple(registry().kinds(include_backup=False))


def list_credentials(user) -> list:
    return [row for row in flows.credentials_of(user, state=None)
            if (factor := flows.factor_of(row)) is not None and not factor.backup]


def find_credential(user, credential_id: str):
    row = flows.find_credential(user, credential_id)
    if row is None or flows.factor_of(row).backup:
        raise NotFound(f"credential '{credential_id[:80]}' does not exist for this user")
    return row


def _service_error(error: FactorError) -> ServiceError:
    if isinstance(error, AlreadyEnrolled):
        return CredentialConflict(error.message)
    return ServiceError(error.message, field=error.field or "credential_type")


def create_credential(user, *, credential_type: str, fields: dict):
    """A new pending credential of the factor ``credential_type``."""
    factor = get_factor(credential_type)
    if factor is None or factor.backup:
        raise ServiceError(f"credential_type must be one of: {', '.join(credential_types())}.", field="credential_type")
    if not factor.enabled(user.realm):
        raise ServiceError(f"{factor.label} ({factor.kind}) is not enabled in this realm.", field="credential_type")
    if factor.browser_enrolment:
        raise ApiError(400, "browser_registration_required",
                       f"A {factor.kind} credential is registered by its user in a browser (the account page's "
                       f"\"{factor.add_label}\", or the login's two-factor setup), not through the API. The API "
                       "lists and deletes them.", fields={"credential_type": "registration needs a browser"})
    try:
        return flows.start_enrolment(factor, user, fields)
    except FactorError as error:
        raise _service_error(error) from None


def _require_pending(row) -> None:
    if row.state != "pending":
        raise CredentialConflict("This credential is already active.")


def send_verification_code(row) -> None:
    """Send what the pending credential needs proven (a text to its phone; same caps and
    cool-down as the hosted pages)."""
    _require_pending(row)
    factor = flows.factor_of(row)
    try:
        factor.deliver_enrolment(flows.enrolment_challenge(row))
    except FactorError as error:
        if error.retry_after:
            raise ApiError(429, "too_many_requests", error.message, headers={"Retry-After": str(error.retry_after)},
                           retry_after=error.retry_after) from None
        if error.field:
            raise ServiceError(error.message, field=error.field) from None
        raise ApiError(503, "code_not_sent", error.message) from None


def locked_error(seconds: int) -> ApiError:
    minutes = max(1, (seconds + 59) // 60)
    return ApiError(429, "mfa_locked", f"Too many wrong codes for this account. Try again in {minutes} minutes.",
                    headers={"Retry-After": str(seconds)}, retry_after=seconds)


def wrong_code(wrong: flows.WrongResponse) -> ApiError:
    return ApiError(400, "invalid_code", wrong.message, fields={"code": wrong.message},
                    attempts_left=wrong.attempts_left)


def verify_credential(row, response: dict) -> list[str] | None:
    """Activate a pending credential with its first valid response; the recovery codes to show
    once when it is the user's first factor."""
    _require_pending(row)
    try:
        return flows.complete_enrolment(row, response, by="api")
    except flows.EnrolmentExpired:
        db.session.commit()
        raise ApiError(410, "credential_expired", "Too many wrong codes for this credential. Create a new one.") \
            from None
    except flows.WrongResponse as wrong:
        raise wrong_code(wrong) from None


def delete_credential(row) -> None:
    flows.remove(row, by="api")
