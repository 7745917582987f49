"""Direct-to-API login (authrocket-2fa.txt, "Direct to API" and "authrocket.js"): the hosted
login's state machine driven by JSON calls instead of pages.

``authenticate_with_password`` starts a ``LoginTransaction`` (form variant "login") for the
client and completes its password stage. When the transaction's next stage is MFA, the answer
is ``needs_mfa`` with a temporary token ``kli_<transaction id>.<secret>``: only a keyed digest
of the secret is stored (in the transaction's stage state), the token expires with the
transaction (10 minutes), it is single-use (``claim_completion``), and the only thing it can do
is send an SMS code for, and complete, that one login. The transaction's browser binding is a
secret nobody is given, so the hosted pages can never resume an API login.

``complete_mfa`` verifies the code with the same ``Factor`` objects as the hosted pages
(challenge binding = the transaction id, so a code sent for one login never completes
another) and applies the same per-account lock (``mfa.attempts``).

A completed login answers ``full_login`` with a short-lived JWT signed by the realm's ES256 key
(the app verifies it against the realm's JWKS) and, when the request authenticated a
confidential client with its secret, that client's OIDC token response (``client_tokens``)."""
from __future__ import annotations

import time
import uuid

from ..extensions import db
from ..login.acr import acr_for
from ..login.completion import apply_deferred_changes
from ..login.stages import ACCESS_DENIED, conclude_stages, pending_prompt
from ..login.transaction import (
    authenticate_in_transaction,
    begin_transaction,
    claim_completion,
    next_stage,
    update_stage_state,
)
from ..mfa import flows
from ..mfa.base import FactorError, normalize_code
from ..mfa.login_state import finish_mfa, login_challenge, login_factors as factors_of_login, mfa_state, \
    record_factor_success, set_mfa_state
from ..mfa.registry import get_factor
from ..models import LoginTransaction, utcnow
from ..oidc.issuer import realm_issuer
from ..ratelimit import LoginTransactionLimitExceeded, mark_form_success
from ..security import digests_equal, keyed_digest, random_token
from ..services.audit import record_event
from ..services.keys import sign_jwt
from ..services.password_attempts import PasswordLoginLocked
from ..services.users import authenticate_password, touch_last_login
from . import client_tokens
from .credentials import locked_error, wrong_code
from .errors import ApiError, invalid_fields

LOGIN_TOKEN_PREFIX = "kli_"
FULL_LOGIN_TOKEN_LIFETIME = 300
FULL_LOGIN_TOKEN_ALGORITHM = "ES256"
_STATE_KEY = "api_login"


def _invalid_login_token() -> ApiError:
    return ApiError(400, "invalid_login_token",
                    "The login token is not valid, has expired or was already used. Log in again.")


def _token_digest(secret: str) -> str:
    return keyed_digest(f"kli:{secret}")


def login_factors(txn) -> list[str]:
    """The factor kinds this login may be completed with: the user's factors, then backup
    factors (recovery codes) while they have codes left."""
    return [factor.kind for factor in factors_of_login(txn)]


def authenticate_with_password(realm, client, *, email: str, password: str, authorization_request: dict,
                               credentials: client_tokens.ClientCredentials | None) -> dict:
    """Check the password in a new login transaction and say what comes next."""
    try:
        user = authenticate_password(realm, email, password)
    except PasswordLoginLocked as locked:
        record_event("login.failed", realm=realm, email=email[:320], reason="locked", via="api")
        db.session.commit()
        raise ApiError(429, "login_locked", f"Too many wrong passwords for this email address. Try again in "
                       f"{locked.minutes} minutes or reset the password.",
                       headers={"Retry-After": str(locked.seconds)}, retry_after=locked.seconds) from None
    if user is None:
        record_event("login.failed", realm=realm, email=email[:320], reason="bad_credentials", via="api")
        db.session.commit()
        raise ApiError(400, "invalid_credentials", "Incorrect email or password.")
    mark_form_success()
    try:
        txn, _unused_browser_binding = begin_transaction(realm, client, authorization_request)
    except LoginTransactionLimitExceeded as error:
        raise ApiError(429, "too_many_requests", "Too many logins were started from this network. Try again later.",
                       headers={"Retry-After": str(error.retry_after)}, retry_after=error.retry_after) from None
    authenticate_in_transaction(txn, user, stage_key="password", amr=["pwd"])
    record_event("login.password_ok", realm=realm, user=user, client_id=client.client_id, via="api")
    stage = next_stage(txn)
    if stage is None or stage.key != "mfa":
        db.session.commit()
        return full_login(txn, credentials)
    factors = login_factors(txn)
    if not factors:
        txn.status = "cancelled"
        db.session.commit()
        raise ApiError(403, "mfa_enrollment_required",
                       "This account must set up two-factor authentication before it can log in. Enrol with the "
                       "credentials API or the hosted login pages.")
    secret = random_token(32)
    update_stage_state(txn, **{_STATE_KEY: {"token_digest": _token_digest(secret)}})
    db.session.commit()
    body = {
        "result": "needs_mfa",
        "token": f"{LOGIN_TOKEN_PREFIX}{txn.id}.{secret}",
        "factors": factors,
        "expires_in": max(0, round((txn.expires_at - utcnow()).total_seconds())),
    }
    challenge = login_challenge(txn)
    for factor in factors_of_login(txn):
        destination = factor.context(challenge).get("destination")
        if destination:
            body.setdefault("destinations", {})[factor.kind] = destination
            body.setdefault("phone", destination)  # the first factor's, as before destinations existed
    return body


def load_login_transaction(realm, token: str) -> LoginTransaction:
    """The pending login a ``kli_`` token names, if the token is its own and MFA is its next
    stage; otherwise 400 ``invalid_login_token`` (without saying which check failed)."""
    if not token.startswith(LOGIN_TOKEN_PREFIX):
        raise _invalid_login_token()
    txn_id, _, secret = token[len(LOGIN_TOKEN_PREFIX):].partition(".")
    if not txn_id or not secret or len(txn_id) > 64:
        raise _invalid_login_token()
    txn = db.session.get(LoginTransaction, txn_id, populate_existing=True)
    state = ((txn.stage_state or {}).get(_STATE_KEY) or {}) if txn is not None else {}
    if (txn is None or txn.realm_id != realm.id or not state.get("token_digest")
            or not digests_equal(_token_digest(secret), state["token_digest"])):
        raise _invalid_login_token()
    if txn.status != "pending" or txn.is_expired() or txn.user is None or txn.user.disabled:
        raise _invalid_login_token()
    stage = next_stage(txn)
    if stage is None or stage.key != "mfa":
        raise _invalid_login_token()
    return txn


def send_login_code(realm, token: str, factor_kind: str) -> dict:
    """Start the factor's verification (text a code) for this login; same caps and cool-down
    as the hosted pages, as both go through ``Factor.begin``."""
    txn = load_login_transaction(realm, token)
    factor = get_factor(factor_kind)
    if factor_kind not in login_factors(txn) or not factor.resendable:
        raise invalid_fields({"factor": "This login cannot be sent a code for that factor."})
    seconds = flows.locked_for_seconds(txn.user)
    if seconds:
        raise locked_error(seconds)
    set_mfa_state(txn, factor=factor.kind)
    db.session.commit()
    challenge = login_challenge(txn)
    try:
        context = factor.begin(challenge)
    except FactorError as error:
        if error.retry_after:
            raise ApiError(429, "too_many_requests", error.message, headers={"Retry-After": str(error.retry_after)},
                           retry_after=error.retry_after) from None
        raise ApiError(503, "code_not_sent", error.message) from None
    return {"factor": factor.kind, "sent": True, "destination": context.get("destination"),
            "phone": context.get("destination"), "resend_wait_seconds": context.get("resend_wait_seconds", 0)}


def _factor_for_code(txn, code: str, factor_kind: str | None):
    """The factor to check ``code`` with: the one named, else the one a code was sent for, else
    the first the user holds; a code that is not six digits can only be a recovery code."""
    factors = factors_of_login(txn)
    if factor_kind is not None:
        chosen = next((f for f in factors if f.kind == factor_kind), None)
        if chosen is None:
            raise invalid_fields({"factor": "This login cannot be completed with that factor."})
        return chosen
    normalized = normalize_code(code)
    backup = next((f for f in factors if f.backup), None)
    if not (len(normalized) == 6 and normalized.isdigit()) and backup is not None:
        return backup
    chosen = next((f for f in factors if f.kind == mfa_state(txn).get("factor")), None)
    return chosen or next((f for f in factors if not f.backup), backup)


def complete_mfa(realm, token: str, code: str, *, factor_kind: str | None = None,
                 credentials: client_tokens.ClientCredentials | None = None) -> dict:
    txn = load_login_transaction(realm, token)
    if credentials is not None:
        if credentials.client_id != txn.client_id:
            raise _invalid_login_token()
        client_tokens.check_authorization_request(txn.authorization_request)
    factor = _factor_for_code(txn, code, factor_kind)
    if factor is None:
        raise invalid_fields({"factor": "This login cannot be completed with a code like that."})
    try:
        flows.guarded_verify(factor, login_challenge(txn), {"code": code})
    except flows.MfaLocked as locked:
        raise locked_error(locked.seconds) from None
    except flows.WrongResponse as wrong:
        raise wrong_code(wrong) from None
    record_factor_success(txn, factor)
    finish_mfa(txn)
    db.session.commit()
    return full_login(txn, credentials)


def full_login_token(txn) -> str:
    """A JWT the app verifies against the realm's JWKS: who logged in, to which client, how
    (``amr``/``acr`` as in ID tokens), valid five minutes."""
    realm, user = txn.realm, txn.user
    now = int(time.time())
    amr = list(txn.amr or [])
    claims = {
        "iss": realm_issuer(realm),
        "aud": txn.client_id,
        "sub": user.id,
        "iat": now,
        "exp": now + FULL_LOGIN_TOKEN_LIFETIME,
        "jti": uuid.uuid4().hex,
        "auth_time": txn.auth_time or now,
        "amr": amr,
        "acr": acr_for(amr),
    }
    return sign_jwt(realm, claims, alg=FULL_LOGIN_TOKEN_ALGORITHM, typ="JWT")


def login_user(user) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "email_verified": bool(user.email_verified)}


def _refuse_unfinished_stages(txn) -> None:
    """Every stage of the login must be done before any token: a stage the API cannot run
    (email verification, consent) sends the user to the hosted pages."""
    pending = pending_prompt(txn)
    if pending is None:
        return
    stage, prompt = pending
    txn.status = "cancelled"
    db.session.commit()
    if prompt.error == ACCESS_DENIED:
        raise ApiError(403, "access_denied", "This account cannot log in to this application "
                                             "(it is not a member of the organization it requires).")
    if stage.key == "verify_email":
        raise ApiError(403, "email_verification_required",
                       "This account must verify its email address before it can log in.")
    raise ApiError(403, "interaction_required", "This login needs the hosted login pages.")


def full_login(txn, credentials: client_tokens.ClientCredentials | None) -> dict:
    """Finish the transaction (once) and issue the full login token."""
    _refuse_unfinished_stages(txn)
    if not claim_completion(txn):
        db.session.rollback()
        raise _invalid_login_token()
    conclude_stages(txn)
    apply_deferred_changes(txn)
    user = txn.user
    touch_last_login(user)
    record_event("login.succeeded", realm=txn.realm, user=user, client_id=txn.client_id, amr=list(txn.amr or []),
                 via="api")
    db.session.commit()
    body = {"result": "full_login", "token": full_login_token(txn), "expires_in": FULL_LOGIN_TOKEN_LIFETIME,
            "user": login_user(user)}
    if credentials is not None:
        body["oidc"] = client_tokens.issue_client_tokens(txn, user, credentials)
    return body
