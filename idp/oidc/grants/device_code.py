"""The Device Authorization Grant (RFC 8628): a TV, a command-line tool or any device without
a good browser gets tokens for a user who approves it on another device.

1. The device posts its ``client_id`` (and ``scope``) to ``/device_authorization`` and gets a
   ``device_code`` (secret, for polling) and a ``user_code`` to show, such as ``WDJB-MJHT``,
   with ``verification_uri`` (``/device``) and ``verification_uri_complete``.
2. The user opens ``/device`` on a phone or computer, types the code ("Enter the code shown on
   your device") and goes through the same login as everywhere (password, second factor, email
   verification) and then always through the consent page, where they confirm the app and the
   access it asks for (RFC 8628 §5.4: a code can be phished, so approving is never silent).
3. Meanwhile the device polls the token endpoint with ``grant_type=
   urn:ietf:params:oauth:grant-type:device_code``: ``authorization_pending`` until the user
   decides, ``slow_down`` when it polls faster than ``interval`` (which then grows by 5 s),
   ``access_denied`` when the user refused, ``expired_token`` once the codes expired, and then
   the tokens, once: the approval is claimed atomically.

What a stranger can make us store is bounded: starting a device authorization counts against
the caller network's budget of new logins (``security.login_transaction_rate_limit``), each
row expires with its codes (``tokens.device_code_lifetime``) and the purge deletes it. Codes
are stored as keyed digests only. User codes are eight letters from an alphabet without vowels
or look-alikes (20^8, about 2.6 * 10^10 codes; no words can form), typed in any case with or
without the dash, and a network may enter only ``security.user_code_rate_limit`` wrong codes.

The grant is this one module: its storage, its endpoint, its page, and its answer to a finished
login (``idp.login.resume``), plus one line in ``idp.oidc.grants.REGISTERED``."""
from __future__ import annotations

import datetime as dt
import math
import time

import sqlalchemy as sa
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc8628 import (
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialMixin,
    ExpiredTokenError,
)
from authlib.oauth2.rfc8628.errors import AuthorizationPendingError, SlowDownError
from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ...extensions import csrf, db
from ...i18n import _, _l
from ...login.resume import LoginResult, register_answer
from ...models import User, UTCDateTime, utcnow
from ...ratelimit import limit_form_posts
from ...security import keyed_digest
from ...web import add_realm_name, load_realm
from ..authentication import AuthenticatedUser, AuthenticationContext
from ..client_assertions import JWT_AUTH_METHODS
from ..issuer import realm_issuer
from ..dpop import SenderConstrainedGrant
from .base import GrantSpec, any_client, settings

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
PURPOSE = "device"

#: No vowels (no words), no look-alikes of digits; RFC 8628 §6.1's example alphabet.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
#: RFC 8628 §3.5: a client told ``slow_down`` adds 5 s to its interval.
SLOW_DOWN_STEP = 5


class DeviceAuthorization(db.Model):
    """One device waiting for its user: the codes (keyed digests), what it asked for, and, once
    the user decided, who approved it and how they authenticated."""

    __tablename__ = "device_authorizations"
    __table_args__ = (sa.UniqueConstraint("realm_id", "user_code_digest", name="uq_device_authorizations_user_code"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    realm_id: Mapped[int] = mapped_column(sa.ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(64))
    device_code_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_code_digest: Mapped[str] = mapped_column(sa.String(64))
    scope: Mapped[str] = mapped_column(sa.String(500), default="")
    #: pending -> approved -> redeemed, or pending -> denied
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    interval: Mapped[int] = mapped_column(sa.Integer)
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    auth_time: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    amr: Mapped[list] = mapped_column(sa.JSON, default=list)
    acr: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    session_sid: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User | None] = relationship()


class DeviceCredential(DeviceCredentialMixin):
    """Authlib's view of a row (``DeviceCodeGrant`` asks it for client, scope and expiry)."""

    def __init__(self, row: DeviceAuthorization):
        self.row = row

    def get_client_id(self):
        return self.row.client_id

    def get_scope(self):
        return self.row.scope

    def get_user_code(self):
        return None  # only its digest is stored; the grant decides from the row itself

    def is_expired(self):
        return self.row.expires_at <= utcnow()


def normalize_user_code(typed: str) -> str:
    """What the user typed, as stored: upper case, letters only (``wdjb mjht`` = ``WDJB-MJHT``)."""
    return "".join(ch for ch in (typed or "").upper() if ch.isalpha())[:64]


def _user_code_digest(realm, code: str) -> str:
    return keyed_digest(f"device-user-code:{realm.id}:{normalize_user_code(code)}")


def _lifetime() -> int:
    return settings().tokens.device_code_lifetime


# --- the device's request: /device_authorization -----------------------------------------------

class RealmDeviceAuthorizationEndpoint(DeviceAuthorizationEndpoint):
    """RFC 8628 §3.1-3.2. Only a client registered for this grant may start it
    (``unauthorized_client`` otherwise); the scope is narrowed to what the client may have."""

    USER_CODE_TYPE = "string"
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", *JWT_AUTH_METHODS]

    @property
    def EXPIRES_IN(self):  # noqa: N802 (Authlib's name)
        return _lifetime()

    @property
    def INTERVAL(self):  # noqa: N802 (Authlib's name)
        return settings().tokens.device_code_interval

    def authenticate_client(self, request):
        """Once per request: Authlib's response authenticates again, and a client assertion
        works only once (its ``jti``)."""
        if getattr(request, "client", None) is not None:
            return request.client
        return super().authenticate_client(request)

    def create_endpoint_response(self, request):
        client = self.authenticate_client(request)
        if not client.check_grant_type(GRANT_TYPE):
            raise UnauthorizedClientError(f"This client may not use the grant '{GRANT_TYPE}'.")
        return super().create_endpoint_response(request)

    def generate_user_code(self):
        from authlib.common.security import generate_token

        code = generate_token(USER_CODE_LENGTH, USER_CODE_ALPHABET)
        return f"{code[:4]}-{code[4:]}"

    def get_verification_uri(self):
        return f"{realm_issuer(g.realm)}/device"

    def save_device_credential(self, client_id, scope, data):
        client = self.server.query_client(client_id)
        row = DeviceAuthorization(
            realm_id=g.realm.id, client_id=client_id,
            device_code_digest=keyed_digest(data["device_code"]),
            user_code_digest=_user_code_digest(g.realm, data["user_code"]),
            scope=client.get_allowed_scope(scope or "") or "", status="pending", interval=data["interval"],
            expires_at=utcnow() + dt.timedelta(seconds=data["expires_in"]),
        )
        db.session.add(row)
        db.session.commit()


# --- the device's polling: the token endpoint --------------------------------------------------

class RealmDeviceCodeGrant(SenderConstrainedGrant, DeviceCodeGrant):
    """RFC 8628 §3.4-3.5 at the token endpoint."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", *JWT_AUTH_METHODS]

    def query_device_credential(self, device_code):
        if len(device_code) > 200:
            return None
        row = db.session.scalar(db.select(DeviceAuthorization).filter_by(
            realm_id=g.realm.id, device_code_digest=keyed_digest(device_code)))
        return DeviceCredential(row) if row is not None else None

    def validate_token_request(self):
        try:
            super().validate_token_request()
        except InvalidRequestError as error:
            if self.request.payload.data.get("device_code"):
                raise InvalidGrantError("The device code is not valid.") from error
            raise

    def validate_device_credential(self, credential):
        """The device's answer, from the row: tokens once (the approval is claimed in one
        ``UPDATE``), else why not. Every refusal but ``authorization_pending`` is final."""
        row = credential.row
        now = utcnow()
        if row.status == "redeemed":
            raise InvalidGrantError("The device code has already been used.")
        if row.expires_at <= now:
            raise ExpiredTokenError("The device code has expired. Start again on the device.")
        if row.status == "denied":
            raise AccessDeniedError("The user denied the request.")
        if row.status == "approved":
            return self._claim(row)
        polled_too_soon = row.last_polled_at is not None and (now - row.last_polled_at).total_seconds() < row.interval
        if polled_too_soon:
            row.interval += SLOW_DOWN_STEP
        row.last_polled_at = now
        db.session.commit()
        if polled_too_soon:
            raise SlowDownError(f"Poll at most every {row.interval} seconds.")
        raise AuthorizationPendingError("The user has not yet entered the code and approved the device.")

    def _claim(self, row):
        claimed = db.session.execute(
            db.update(DeviceAuthorization)
            .where(DeviceAuthorization.id == row.id, DeviceAuthorization.status == "approved")
            .values(status="redeemed")
        ).rowcount
        db.session.commit()
        user = row.user
        if not claimed or user is None or user.disabled:
            raise InvalidGrantError("The device code has already been used.")
        return AuthenticatedUser(user, AuthenticationContext(
            auth_time=row.auth_time, amr=list(row.amr or []), acr=row.acr, sid=row.session_sid))


# --- the user's page: /device ------------------------------------------------------------------

class UserCodeForm(FlaskForm):
    user_code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the code shown on your device.")),
                                                    Length(max=64)])


#: The user's page (per-IP limits on its posts, as every hosted form) ...
device_bp = Blueprint("device", __name__, url_prefix="/realms/<realm_name>")
device_bp.url_value_preprocessor(load_realm)
device_bp.url_defaults(add_realm_name)
limit_form_posts(device_bp)
#: ... and the device's endpoint, a protocol endpoint counted against new logins instead.
device_endpoint_bp = Blueprint("device_endpoint", __name__, url_prefix="/realms/<realm_name>")


@device_endpoint_bp.url_value_preprocessor
def _load_realm_or_json_404(endpoint, values):
    """A machine endpoint: an unknown realm is a JSON 404, not the themed page."""
    from flask import abort
    from werkzeug.exceptions import NotFound

    try:
        load_realm(endpoint, values)
    except NotFound as error:
        response = jsonify(error="not_found", error_description=error.description)
        response.status_code = 404
        abort(response)


def _user_code_limit():
    from limits import parse

    value = settings().security.user_code_rate_limit.strip()
    return parse(value) if value else None


def _wrong_codes_left() -> int | None:
    """Seconds until this network may try again, or None while it may."""
    from ...ratelimit import client_network, limiter

    item = _user_code_limit()
    if item is None or not limiter.enabled:
        return None
    reset_at, remaining = limiter.limiter.get_window_stats(item, "device-user-code", client_network())
    return None if remaining > 0 else max(1, math.ceil(reset_at - time.time()))


def _count_wrong_code() -> None:
    from ...ratelimit import client_network, limiter

    item = _user_code_limit()
    if item is not None and limiter.enabled:
        limiter.limiter.hit(item, "device-user-code", client_network())


def find_pending(realm, typed_code: str) -> DeviceAuthorization | None:
    code = normalize_user_code(typed_code)
    if len(code) != USER_CODE_LENGTH:
        return None
    row = db.session.scalar(db.select(DeviceAuthorization).filter_by(
        realm_id=realm.id, user_code_digest=_user_code_digest(realm, code)))
    if row is None or row.status != "pending" or row.expires_at <= utcnow():
        return None
    return row


def _page(form, status=200, **context):
    from ...themes import render_page

    return render_page("device.html", realm=g.realm, form=form, action_url=url_for("device.verify"),
                       page_title=_("Connect a device"), status=status, **context)


@device_bp.route("/device", methods=["GET", "POST"])
def verify():
    """"Enter the code shown on your device": then the login, then the consent page."""
    from ...login import flow
    from ...login.sessions import current_browser_session
    from ...services.clients import find_client

    form = UserCodeForm()
    if request.method == "GET":
        form.user_code.data = (request.args.get("user_code") or "")[:64]
        return _page(form)
    retry_after = _wrong_codes_left()
    if retry_after is not None:
        form.form_errors.append(_("Too many wrong codes were entered from this network. Try again in a few minutes."))
        body, status = _page(form, status=429)
        return body, status, {"Retry-After": str(retry_after)}
    if not form.validate_on_submit():
        return _page(form, status=400)
    row = find_pending(g.realm, form.user_code.data)
    client = find_client(g.realm, row.client_id) if row is not None else None
    if row is None or client is None:
        _count_wrong_code()
        form.user_code.errors = [_("That code is not valid or has expired. Check the code on your device.")]
        return _page(form, status=400)
    params = {"client_id": client.client_id, "scope": row.scope, "prompt": "consent", "device_authorization": row.id}
    return flow.begin_login(g.realm, client, params, browser_session=current_browser_session(g.realm),
                            purpose=PURPOSE)


def _result_page(title: str, message: str, status: int = 200, client=None):
    from ...themes import render_page

    return current_app.make_response(render_page(
        "device_done.html", realm=g.realm, client=client, title=title, message=message, page_title=title,
        status=status))


class DeviceAnswer:
    """The end of a login started at ``/device``: the device's request is approved or denied."""

    def _decide(self, txn, **values) -> bool:
        return bool(db.session.execute(
            db.update(DeviceAuthorization)
            .where(DeviceAuthorization.id == txn.authorization_request.get("device_authorization"),
                   DeviceAuthorization.realm_id == txn.realm_id,
                   DeviceAuthorization.status == "pending", DeviceAuthorization.expires_at > utcnow())
            .values(**values)
        ).rowcount)

    def complete(self, txn, result: LoginResult):
        from ...services.audit import record_event
        from ...services.clients import find_client

        client = find_client(txn.realm, txn.client_id)
        if not self._decide(txn, status="approved", user_id=result.user.id, auth_time=result.auth_time,
                            amr=list(result.amr), acr=result.acr, session_sid=result.sid):
            db.session.commit()
            return _result_page(_("This code has expired"),
                                _("Start again on your device to get a new code."), 400, client)
        record_event("oauth.device_approved", realm=txn.realm, user=result.user, client_id=txn.client_id)
        db.session.commit()
        return _result_page(_("Your device is connected"),
                            _("You can close this window and continue on your device."), 200, client)

    def deny(self, txn, reason: str):
        from ...services.clients import find_client

        self._decide(txn, status="denied")
        db.session.commit()
        return _result_page(_("Access denied"), _("The device was not connected. You can close this window."),
                            200, find_client(txn.realm, txn.client_id))


@device_endpoint_bp.post("/device_authorization")
@csrf.exempt
def device_authorization():
    from ...ratelimit import LoginTransactionLimitExceeded, count_login_transaction
    from ..server import authorization_server

    try:
        count_login_transaction()
    except LoginTransactionLimitExceeded as error:
        response = jsonify(error="slow_down", error_description="Too many devices were connected from this "
                                                                 "network; try again later.")
        response.status_code = 429
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    for attempt in range(3):
        try:
            response = authorization_server.create_endpoint_response(
                RealmDeviceAuthorizationEndpoint.ENDPOINT_NAME)
        except IntegrityError:  # a user code already in use: draw another
            db.session.rollback()
            continue
        response.headers["Cache-Control"] = "no-store"
        return response
    raise OAuth2Error("Could not allocate a user code.")


def purge_device_authorizations(settings, expired_before: dt.datetime) -> int:
    from ...services.purge import delete_in_batches

    return delete_in_batches(DeviceAuthorization.id, DeviceAuthorization.expires_at <= expired_before,
                             DeviceAuthorization.expires_at)


def init_app(app) -> None:
    from ...services.purge import Purge, register_purge

    app.register_blueprint(device_bp)
    app.register_blueprint(device_endpoint_bp)
    register_answer(app, PURPOSE, DeviceAnswer())
    register_purge(app, Purge("device_authorizations", purge_device_authorizations))


def _openid_token():
    """With ``openid`` in the scope the device also gets an ID token (as Keycloak and Auth0 do):
    the user logged in on the other device, with the ``auth_time``/``amr``/``acr``/``sid`` of
    that login."""
    from .authorization_code import IdpOpenIDToken

    return IdpOpenIDToken()


grant = GrantSpec(
    RealmDeviceCodeGrant,
    description="Devices without a browser (TVs, command-line tools) show a code the user enters on "
                "another device (RFC 8628).",
    client_rule=any_client,
    extensions=lambda: [_openid_token()],
    endpoints=(RealmDeviceAuthorizationEndpoint,),
    metadata=lambda issuer: {"device_authorization_endpoint": f"{issuer}/device_authorization"},
    init_app=init_app,
)
