"""Remembered devices ("Remember this device for N days" on the MFA code page).

A browser that ticked the box gets a random cookie per user and realm (``idp_device_<id>``,
HttpOnly, SameSite=Lax, Secure when the public URL is https, path ``/realms/<realm>/``); the
table keeps only its keyed digest, with the user, the IP address and browser at creation and
the last use. Until it expires (the realm's ``remember_device_days``, counted from creation
and capped by the realm's current setting) the MFA stage is skipped on that browser for that
user, except when a fresh second factor is asked for (``idp.mfa.stage.fresh_mfa_requested``).

What a login that skipped MFA this way says about itself:

- ``amr`` is ``["pwd"]``: only a password was presented in this login; no code was entered.
- ``acr`` is ``urn:idp:acr:mfa``: the browser holds a secret that was issued after a second
  factor, so the session is multi-factor in class, and an ``acr_values`` request for MFA
  without ``max_age`` is satisfied by it. A relying app that needs a code entered *now* checks
  for ``"mfa"`` in ``amr``, or sends ``acr_values`` for MFA with ``max_age``, or
  ``prompt=login``: those always run the MFA step.

Changing the password or a factor forgets all of a user's devices (``notifications``), as do
the account page ("Forget all devices") and ``idp users forget-devices``."""
from __future__ import annotations

import datetime as dt
import re

from flask import current_app, has_request_context, request

from ..extensions import db
from ..login.acr import ACR_MULTI_FACTOR
from ..login.sessions import realm_cookie_path
from ..login.transaction import update_stage_state
from ..models import RememberedDevice, utcnow
from ..security import keyed_digest, random_token
from ..services.audit import record_event
from ..services.sign_out import forget_all_devices  # noqa: F401 (shared with the password rule)

COOKIE_PREFIX = "idp_device_"


def device_cookie_name(user) -> str:
    """One cookie per user: several people may share a browser. The name does not reveal the user."""
    return COOKIE_PREFIX + keyed_digest(f"remembered-device:{user.id}")[:16]


def _lifetime(realm) -> dt.timedelta:
    return dt.timedelta(days=realm.remember_device_days or 0)


def remember_device(realm, user, response) -> RememberedDevice | None:
    """Remember this browser for ``user`` (replacing what it held for them) and set the cookie
    on ``response``. The caller commits."""
    days = realm.remember_device_days or 0
    if days <= 0:
        return None
    name = device_cookie_name(user)
    previous = request.cookies.get(name)
    if previous and len(previous) <= 100:
        db.session.execute(db.delete(RememberedDevice).where(
            RememberedDevice.user_id == user.id, RememberedDevice.cookie_digest == keyed_digest(previous)))
    secret = random_token(32)
    now = utcnow()
    device = RememberedDevice(
        realm_id=realm.id, user_id=user.id, cookie_digest=keyed_digest(secret),
        created_at=now, expires_at=now + _lifetime(realm),
        ip_address=request.remote_addr, user_agent=(request.user_agent.string or "")[:400],
    )
    db.session.add(device)
    response.set_cookie(name, secret, max_age=days * 86400, path=realm_cookie_path(realm), httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax")
    record_event("mfa.device_remembered", realm=realm, user=user, days=days)
    return device


def current_device(realm, user) -> RememberedDevice | None:
    """This browser's remembered device for ``user``, if it is still valid."""
    if user is None or not has_request_context() or not realm.remember_device_days:
        return None
    secret = request.cookies.get(device_cookie_name(user))
    if not secret or len(secret) > 100:
        return None
    device = db.session.scalar(db.select(RememberedDevice).filter_by(cookie_digest=keyed_digest(secret)))
    now = utcnow()
    if (device is None or device.user_id != user.id or device.realm_id != realm.id
            or device.expires_at <= now or device.created_at + _lifetime(realm) <= now):
        return None
    return device


def remembered_device(txn) -> RememberedDevice | None:
    """This browser's remembered device for the user of ``txn``, which stands in for the MFA
    stage (it only reads: ``record_remembered_device_use`` writes, once the login succeeded).
    The MFA stage does not ask for it when the login wants a fresh code
    (``idp.mfa.stage.fresh_mfa_requested``)."""
    if txn.user is None:
        return None
    return current_device(txn.realm, txn.user)


def record_remembered_device_use(txn) -> None:
    """The login that just succeeded skipped the MFA step on this browser's remembered device:
    its ``last_used_at`` moves, the login's ``acr`` is set (see the module docstring) and an
    audit event is recorded."""
    device = remembered_device(txn)
    if device is None:
        return
    device.last_used_at = utcnow()
    update_stage_state(txn, remembered_device=device.id, acr=ACR_MULTI_FACTOR)
    record_event("login.mfa_remembered_device", realm=txn.realm, user=txn.user, device=device.id)


def remembered_devices(user) -> list[RememberedDevice]:
    """The user's devices that can still skip the MFA step, newest first."""
    now = utcnow()
    return list(db.session.scalars(
        db.select(RememberedDevice).filter_by(user_id=user.id).filter(RememberedDevice.expires_at > now)
        .order_by(RememberedDevice.created_at.desc(), RememberedDevice.id.desc())
    ))


def forget_device(user, device_id: int) -> bool:
    deleted = db.session.execute(db.delete(RememberedDevice).where(
        RememberedDevice.id == device_id, RememberedDevice.user_id == user.id)).rowcount
    if deleted:
        record_event("mfa.remembered_device_forgotten", realm=user.realm, user=user, device=device_id)
    return bool(deleted)


_BROWSERS = [("Edge", r"Edg(?:e|A|iOS)?/"), ("Opera", r"OPR/|Opera"), ("Samsung Internet", r"SamsungBrowser/"),
             ("Firefox", r"Firefox/|FxiOS/"), ("Chrome", r"Chrome/|CriOS/|Chromium/"), ("Safari", r"Safari/")]
_SYSTEMS = [("iPhone", r"iPhone"), ("iPad", r"iPad"), ("Android", r"Android"), ("Windows", r"Windows"),
            ("macOS", r"Mac OS X|Macintosh"), ("ChromeOS", r"CrOS"), ("Linux", r"Linux")]


def describe_browser(user_agent: str | None) -> str:
    """"Firefox on Linux" from a User-Agent header, for the account page and mails."""
    ua = user_agent or ""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, ua)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, ua)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"
