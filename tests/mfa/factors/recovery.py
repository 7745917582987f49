"""Contract driver: recovery codes (a backup factor: issued with the first factor, not enrolled)."""
LISTED_AS = "Recovery codes"
issued: dict[str, list[str]] = {}


def right_response(factor, challenge, authenticator, instance_path):
    factor.begin(challenge)
    return {"code": issued[challenge.user.id].pop()}


def wrong_response(authenticator):
    return {"code": "aaaaa-bbbbb"}
