"""Contract driver: a passkey, answered by a software authenticator (``tests.soft_authenticator``)
with real registration and assertion responses."""
import json

from cryptography.hazmat.primitives.asymmetric import ec

from tests.soft_authenticator import SoftAuthenticator

LISTED_AS = "Passkeys and security keys"
#: The authenticator that created each credential, by credential id.
authenticators: dict[str, SoftAuthenticator] = {}


def _origin():
    from idp.mfa.webauthn.ceremonies import relying_party

    return relying_party()[1]


def enrolment_response(pending, instance_path):
    from idp.mfa import flows
    from idp.mfa.registry import get_factor

    options = get_factor("webauthn").enrolment_context(flows.enrolment_challenge(pending))["options_json"]
    authenticator = SoftAuthenticator()
    authenticators[pending.id] = authenticator
    return {"credential": json.dumps(authenticator.create(options, _origin())), "name": "Work laptop"}


def right_response(factor, challenge, authenticator, instance_path):
    options = factor.context(challenge)["options_json"]
    return {"credential": json.dumps(authenticators[authenticator.id].get(options, _origin()))}


def wrong_response(authenticator):
    """An assertion for the right credential signed with another key."""
    from idp.extensions import db
    from idp.mfa.base import Challenge
    from idp.mfa.registry import get_factor

    user = authenticator.user
    options = get_factor("webauthn").context(Challenge(realm=user.realm, user=user, binding="txn-1"))["options_json"]
    db.session.commit()
    forged = authenticators[authenticator.id].get(options, _origin(), key=ec.generate_private_key(ec.SECP256R1()))
    return {"credential": json.dumps(forged)}
