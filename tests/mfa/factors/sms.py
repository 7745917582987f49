"""Contract driver: a phone (the code in the development SMS outbox)."""
from tests.helpers import last_sms_code

LISTED_AS = "Phone"
PHONE = "+14155550100"
ENROLMENT_FIELDS = {"phone": PHONE}


def enrolment_response(pending, instance_path):
    return {"code": last_sms_code(instance_path, PHONE)}


def right_response(factor, challenge, authenticator, instance_path):
    factor.begin(challenge)
    return {"code": last_sms_code(instance_path, PHONE)}


def wrong_response(authenticator):
    return {"code": "000000"}
