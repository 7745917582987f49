"""WebAuthn ceremonies with py_webauthn: the relying party, the challenges, the two checks.

- **Relying party.** Its id is the host of the provider's public address
  (``server.public_url``, ``idp.public_address``), the same for every realm; the expected origin
  is that address's scheme, host and port. Both are checked by py_webauthn on every ceremony
  (the RP id hash in the authenticator data, the origin in the client data). A realm's
  passkeys never sign in to another realm: credentials are looked up among the realm's users.
  WebAuthn needs a secure context: ``https://``, or ``http://localhost`` / ``127.0.0.1``.
- **Challenges.** 32 random bytes, single-use, short-lived (``CHALLENGE_SECONDS``), bound to a
  login transaction or an account action (``Challenge.binding``) and kept server-side where the
  other factors keep theirs (``otp_challenges``: any worker can check them; purged with them),
  as a keyed digest only. A response names its challenge in its client data: the digest of that
  challenge must be the binding's live one, which is then consumed before the signature is
  checked, so a response is accepted once at most. A passkey sign-in has no user yet: its
  challenge lives in the login transaction (``passwordless``).
- **Attestation** ``none``: the provider does not restrict authenticator models.

py_webauthn is imported by the functions that use it: it costs a process about 6 MB, which only
realms with passkeys need."""
from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ...extensions import db
from ...models import OtpChallenge, utcnow
from ...security import digests_equal, keyed_digest

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

FACTOR = "webauthn"
CHALLENGE_SECONDS = 300
TIMEOUT_MS = CHALLENGE_SECONDS * 1000
#: The most a posted credential may weigh (JSON text): a real one is a few kilobytes.
MAX_RESPONSE_CHARS = 16_000


class CeremonyFailed(Exception):
    """The response does not verify (wrong challenge, origin, RP id, signature, ...)."""


def relying_party() -> tuple[str, str]:
    """``(rp_id, expected_origin)`` from the provider's public address."""
    from ...oidc.issuer import public_base_url

    parts = urlsplit(public_base_url())
    origin = f"{parts.scheme}://{parts.netloc}"
    return parts.hostname, origin


def user_handle(user) -> bytes:
    """The WebAuthn user handle: the user's random subject id (no personal data, RFC 8176 § user)."""
    return user.id.encode()


def user_verification(realm) -> UserVerificationRequirement:
    from webauthn.helpers.structs import UserVerificationRequirement

    return UserVerificationRequirement.REQUIRED if realm.passkey_user_verification_required \
        else UserVerificationRequirement.PREFERRED


def _digest(challenge: bytes) -> str:
    from webauthn.helpers import bytes_to_base64url

    return keyed_digest("webauthn:" + bytes_to_base64url(challenge))


# --- challenges bound to a user (enrolment, second factor) ---------------------------------------

def _of(user):
    return OtpChallenge.user_id.is_(None) if user is None else OtpChallenge.user_id == user.id


def issue_challenge(realm, user, binding: str, *, purpose: str) -> bytes:
    """A new challenge for the binding (``user`` None: a passkey sign-in, bound to its login
    transaction); the earlier ones of the binding go, so a binding holds one at a time (an
    anonymous visitor reloading the login page stores nothing more)."""
    now = utcnow()
    db.session.execute(
        db.delete(OtpChallenge)
        .where(_of(user), OtpChallenge.transaction_id == binding, OtpChallenge.factor == FACTOR)
        .execution_options(synchronize_session=False))
    challenge = secrets.token_bytes(32)
    db.session.add(OtpChallenge(realm_id=realm.id, user_id=user.id if user is not None else None,
                                transaction_id=binding, factor=FACTOR,
                                purpose=purpose, destination="", salt="", code_digest=_digest(challenge),
                                attempts=0, created_at=now,
                                expires_at=now + dt.timedelta(seconds=CHALLENGE_SECONDS)))
    return challenge


def claim_challenge(user, binding: str, credential: Mapping) -> bytes:
    """The challenge ``credential`` answers, if it is the binding's live one; consumed now."""
    challenge = challenge_in(credential)
    row = db.session.scalar(
        db.select(OtpChallenge).where(_of(user), OtpChallenge.transaction_id == binding, OtpChallenge.factor == FACTOR)
        .order_by(OtpChallenge.id.desc()))
    if row is None or row.consumed_at is not None or row.expires_at <= utcnow() \
            or not digests_equal(_digest(challenge), row.code_digest):
        raise CeremonyFailed("no live challenge")
    claimed = db.session.execute(
        db.update(OtpChallenge).where(OtpChallenge.id == row.id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=utcnow())).rowcount
    db.session.commit()
    if claimed != 1:
        raise CeremonyFailed("challenge already used")
    return challenge


def challenge_in(credential: Mapping) -> bytes:
    from webauthn.helpers import parse_client_data_json
    from webauthn.helpers.base64url_to_bytes import base64url_to_bytes

    try:
        client_data = parse_client_data_json(base64url_to_bytes(credential["response"]["clientDataJSON"]))
    except Exception as error:  # a malformed response of any shape is simply not valid
        raise CeremonyFailed("unreadable client data") from error
    return client_data.challenge


def parse_response(value) -> dict:
    """The credential the page posted (``PublicKeyCredential.toJSON()``), as a mapping."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str) or not value or len(value) > MAX_RESPONSE_CHARS:
        raise CeremonyFailed("no credential")
    try:
        parsed = json.loads(value)
    except ValueError as error:
        raise CeremonyFailed("not JSON") from error
    if not isinstance(parsed, dict) or not isinstance(parsed.get("response"), dict):
        raise CeremonyFailed("not a credential")
    return parsed


# --- options ---------------------------------------------------------------------------------

def _descriptors(rows) -> list[PublicKeyCredentialDescriptor]:
    from webauthn.helpers.base64url_to_bytes import base64url_to_bytes
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    result = []
    for row in rows:
        transports = []
        for name in (row.data or {}).get("transports") or []:
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue
        result.append(PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.data["credential_id"]),
                                                    transports=transports or None))
    return result


def registration_options(realm, user, challenge: bytes, existing) -> str:
    """``navigator.credentials.create`` options as JSON: a discoverable credential (so it can
    also sign in without a password), user verification as the realm says, no attestation, and
    the user's passkeys excluded so one authenticator is not registered twice."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (AttestationConveyancePreference, AuthenticatorSelectionCriteria,
                                          ResidentKeyRequirement)

    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id, rp_name=realm.display_name, user_name=user.email, user_id=user_handle(user),
        user_display_name=user.name or user.email, challenge=challenge, timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=user_verification(realm)),
        exclude_credentials=_descriptors(existing))
    return options_to_json(options)


def authentication_options(realm, challenge: bytes, allowed=()) -> str:
    """``navigator.credentials.get`` options as JSON; ``allowed`` empty for discoverable
    credentials (the browser offers the passkeys it holds for this RP)."""
    from webauthn import generate_authentication_options, options_to_json

    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id, challenge=challenge, timeout=TIMEOUT_MS, allow_credentials=_descriptors(allowed),
        user_verification=user_verification(realm))
    return options_to_json(options)


# --- verification ----------------------------------------------------------------------------

def verify_registration(realm, credential: Mapping, challenge: bytes) -> dict:
    """The new credential's data (what ``Authenticator.data`` keeps), or ``CeremonyFailed``."""
    from webauthn import verify_registration_response
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.exceptions import InvalidRegistrationResponse

    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=dict(credential), expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, require_user_verification=realm.passkey_user_verification_required)
    except (InvalidRegistrationResponse, KeyError, TypeError, ValueError) as error:
        raise CeremonyFailed(str(error)) from error
    transports = (credential.get("response") or {}).get("transports") or []
    return {
        "credential_id": bytes_to_base64url(verified.credential_id),
        "public_key": bytes_to_base64url(verified.credential_public_key),
        "sign_count": verified.sign_count,
        "transports": [t for t in transports if isinstance(t, str)][:8],
        "aaguid": verified.aaguid,
        "backup_eligible": verified.credential_device_type.value == "multi_device",
        "backup_state": bool(verified.credential_backed_up),
        "user_verified": bool(verified.user_verified),
    }


def verify_assertion(realm, credential: Mapping, challenge: bytes, stored: Mapping):
    """py_webauthn's ``VerifiedAuthentication`` for ``stored`` (a credential's data). The sign
    count is compared by the caller (``factor.record_assertion``), after the signature is known
    to be good, so that only a genuine response can report a cloned authenticator."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.base64url_to_bytes import base64url_to_bytes
    from webauthn.helpers.exceptions import InvalidAuthenticationResponse

    rp_id, origin = relying_party()
    try:
        return verify_authentication_response(
            credential=dict(credential), expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, credential_public_key=base64url_to_bytes(stored["public_key"]),
            credential_current_sign_count=0,
            require_user_verification=realm.passkey_user_verification_required)
    except (InvalidAuthenticationResponse, KeyError, TypeError, ValueError) as error:
        raise CeremonyFailed(str(error)) from error


def credential_id_in(credential: Mapping) -> str | None:
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.base64url_to_bytes import base64url_to_bytes

    value = credential.get("rawId") or credential.get("id")
    if not isinstance(value, str) or len(value) > 1400:
        return None
    try:
        return bytes_to_base64url(base64url_to_bytes(value))
    except Exception:  # noqa: BLE001 -- not base64url: no such credential
        return None


def user_handle_in(credential: Mapping) -> str | None:
    from webauthn.helpers.base64url_to_bytes import base64url_to_bytes

    value = (credential.get("response") or {}).get("userHandle")
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        return base64url_to_bytes(value).decode()
    except Exception:  # noqa: BLE001
        return None
