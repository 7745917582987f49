"""One user as one JSON object (one line of an import or export file), and the checks a line
passes before anything of it is written.

A line::

    {"id": "5f0c...", "email": "ada@example.com", "email_verified": true, "name": "Ada",
     "disabled": false, "created_at": "2024-05-01T12:00:00+00:00",
     "password_hash": "$2b$12$...",
     "mfa": {"enabled": true, "factors": [{"type": "totp", "name": "Phone", "secret": "JBSW..."},
                                          {"type": "sms", "phone": "+14155550100", "verified": true}]}}

Only ``email`` is required. ``password_hash`` is a string in a format ``idp.password_hashes``
checks (argon2, bcrypt, Django's ``pbkdf2_sha256$...``) or, for a Keycloak credential, an object
``{"algorithm": "pbkdf2-sha256", "value": <secretData.value>, "salt": <secretData.salt>,
"iterations": <credentialData.hashIterations>}``. ``mfa.factors`` holds the credentials of
portable factors (``Factor.portable``), each checked by its own factor."""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

from ..extensions import db
from ..mfa.base import FactorError
from ..mfa.registry import get_factor
from ..models import Authenticator, User
from ..password_hashes import UnknownHashFormat, check_stored_hash, keycloak_credential
from ..services import ServiceError
from ..services.users import email_key, normalize_email

#: A longer line is refused without being parsed.
MAX_LINE_BYTES = 64 * 1024
FIELDS = {"id", "email", "email_verified", "name", "disabled", "created_at", "password_hash", "mfa"}
MFA_FIELDS = {"enabled", "factors"}
_SUBJECT = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Rejected(Exception):
    """A line that cannot be imported; the message is the reason in the report."""


@dataclass
class CheckedUser:
    """A line that passed every check: what ``write_user`` stores."""

    line: int
    email: str
    email_key: str
    subject: str | None
    name: str | None
    email_verified: bool
    disabled: bool
    created_at: dt.datetime | None
    password_hash: str | None
    mfa_enabled: bool
    factors: list = field(default_factory=list)  # (factor, checked data)


def _no_nul(value, where="the line") -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise Rejected(f"{where} holds a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key, where)
            _no_nul(item, where)
    elif isinstance(value, list):
        for item in value:
            _no_nul(item, where)


def _bool(data: dict, key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Rejected(f"'{key}' must be true or false")
    return value


def parse_line(raw: bytes, number: int) -> dict | None:
    """The JSON object on a line; None for a blank line; ``Rejected`` for anything else."""
    if len(raw) > MAX_LINE_BYTES:
        raise Rejected(f"the line is longer than {MAX_LINE_BYTES} bytes")
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Rejected(f"the line is not valid UTF-8 (byte {error.start + 1})") from None
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise Rejected(f"malformed JSON: {getattr(error, 'msg', 'nested too deeply')}") from None
    if not isinstance(data, dict):
        raise Rejected("the line must be a JSON object")
    _no_nul(data)
    return data


def _password_hash(value) -> str | None:
    if value is None:
        return None
    try:
        if isinstance(value, dict):
            unknown = set(value) - {"algorithm", "value", "salt", "iterations"}
            if unknown:
                raise Rejected(f"unknown password_hash field(s): {', '.join(sorted(unknown))[:100]}")
            return keycloak_credential(value.get("value"), value.get("salt"), value.get("iterations"),
                                       value.get("algorithm", "pbkdf2-sha256"))
        return check_stored_hash(value)
    except UnknownHashFormat as error:
        raise Rejected(f"password_hash: {error}") from None


def _subject(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected("'id' must be a string")
    if _UUID.match(value):
        value = value.replace("-", "").lower()
    if not _SUBJECT.match(value):
        raise Rejected("'id' must be 1-32 letters, digits, '.', '_' or '-' (or a UUID)")
    return value


def _created_at(value) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise Rejected("'created_at' must be an ISO 8601 date-time")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _factors(realm, mfa) -> tuple[bool, list]:
    if mfa is None:
        return False, []
    if not isinstance(mfa, dict):
        raise Rejected("'mfa' must be an object")
    unknown = set(mfa) - MFA_FIELDS
    if unknown:
        raise Rejected(f"unknown mfa field(s): {', '.join(sorted(unknown))[:100]}")
    entries = mfa.get("factors") or []
    if not isinstance(entries, list) or len(entries) > 20:
        raise Rejected("'mfa.factors' must be a list of at most 20 credentials")
    checked, kinds = [], []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise Rejected("each mfa factor must be an object with a 'type'")
        factor = get_factor(entry["type"])
        if factor is None or not factor.portable:
            raise Rejected(f"mfa factor type '{entry['type'][:20]}' cannot be imported")
        if factor.single and factor.kind in kinds:
            raise Rejected(f"a user holds at most one '{factor.kind}' factor")
        try:
            checked.append((factor, factor.check_import(realm, entry)))
        except FactorError as error:
            raise Rejected(f"mfa factor '{factor.kind}': {error.message}") from None
        kinds.append(factor.kind)
    return _bool(mfa, "enabled", bool(checked)), checked


def check_user(realm, data: dict, number: int, *, new_ids: bool = False) -> CheckedUser:
    """Every check of one line that needs nothing but the line (``existing_identities`` checks
    a whole batch against the database); ``Rejected`` says why a line fails."""
    unknown = set(data) - FIELDS
    if unknown:
        raise Rejected(f"unknown field(s): {', '.join(sorted(unknown))[:100]}")
    email = data.get("email")
    if not isinstance(email, str):
        raise Rejected("'email' is required")
    try:
        email = normalize_email(email)
    except ServiceError:
        raise Rejected("'email' is not a valid email address") from None
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise Rejected("'name' must be a string")
    name = (name or "").strip() or None
    if name and len(name) > 200:
        raise Rejected("'name' must be at most 200 characters")
    subject = _subject(data.get("id"))
    if new_ids:
        subject = None
    mfa_enabled, factors = _factors(realm, data.get("mfa"))
    return CheckedUser(
        line=number, email=email, email_key=email_key(email), subject=subject, name=name,
        email_verified=_bool(data, "email_verified"), disabled=_bool(data, "disabled"),
        created_at=_created_at(data.get("created_at")), password_hash=_password_hash(data.get("password_hash")),
        mfa_enabled=mfa_enabled, factors=factors)


def identity_keys(checked: CheckedUser) -> list[str]:
    """What must be unique across one file: the email key and the id."""
    keys = [f"email:{checked.email_key}"]
    if checked.subject:
        keys.append(f"id:{checked.subject}")
    return keys


def existing_identities(realm_id: int, batch: list[CheckedUser]) -> dict[int, str]:
    """The lines of ``batch`` whose address is already an account of the realm, or whose id is
    already a user's (of any realm: ids are subjects, unique on the server), with the reason."""
    with db.session.no_autoflush:
        taken_keys = set(db.session.scalars(db.select(User.email_normalized).where(
            User.realm_id == realm_id, User.email_normalized.in_([c.email_key for c in batch]))))
        subjects = [c.subject for c in batch if c.subject]
        taken_ids = set(db.session.scalars(db.select(User.id).where(User.id.in_(subjects)))) if subjects else set()
    refused = {}
    for checked in batch:
        if checked.email_key in taken_keys:
            refused[checked.line] = "an account with this email already exists"
        elif checked.subject in taken_ids:
            refused[checked.line] = "a user with this id already exists"
    return refused


def write_user(realm, checked: CheckedUser) -> User:
    """Add the user and their credentials to the session (the caller records the batch's
    ``user.imported`` event, flushes and commits)."""
    user = User(realm_id=realm.id, email=checked.email, name=checked.name, email_verified=checked.email_verified,
                password_hash=checked.password_hash, mfa_enabled=checked.mfa_enabled, failed_mfa_attempts=0,
                disabled=checked.disabled)
    if checked.subject:
        user.id = checked.subject
    else:
        from ..models.user import new_subject

        user.id = new_subject()
    if checked.created_at:
        user.created_at = checked.created_at
    user.realm = realm
    db.session.add(user)
    for factor, data in checked.factors:
        factor.restore_credential(user, data)
    return user


def export_user(user: User, credentials: list[Authenticator]) -> dict:
    """The line for ``user``: the same shape an import reads, the password hash as stored."""
    factors = []
    for row in credentials:
        factor = get_factor(row.kind)
        if row.state == "active" and factor is not None and factor.portable:
            entry = factor.export_credential(row)
            if entry is not None:
                factors.append(entry)
    return {
        "id": user.id,
        "email": user.email,
        "email_verified": bool(user.email_verified),
        "name": user.name,
        "disabled": bool(user.disabled),
        "created_at": user.created_at.isoformat() if user.created_at else None,
        "password_hash": user.password_hash,
        "mfa": {"enabled": bool(user.mfa_enabled), "factors": factors},
    }
