"""When a login asks the user for consent."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from flask import url_for

from ..login.stages import CONSENT_REQUIRED, Prompt


class ConsentStage:
    """First-party clients (the default) do not ask unless the request says ``prompt=consent``
    (a device approval always does: ``idp.oidc.grants.device_code``). Third-party clients ask
    then too, and whenever the user has not yet allowed every scope this login would grant
    (``idp.services.consents``)."""

    key = "consent"

    def check(self, txn):
        from ..services.clients import find_client
        from ..services.consents import has_consent

        client = find_client(txn.realm, txn.client_id)
        if client is None:
            return None
        if "consent" in (txn.authorization_request.get("prompt") or "").split():
            return Prompt("consent_requested", CONSENT_REQUIRED)
        if client.first_party:
            return None
        if txn.user is None or not has_consent(txn.user, client, requested_scopes(txn, client)):
            return Prompt("scopes_not_granted", CONSENT_REQUIRED)
        return None

    def url(self, txn):
        return url_for("consent.consent", realm_name=txn.realm.name, txn_id=txn.id)


def requested_scopes(txn, client) -> list[str]:
    """The scopes this login would grant: those requested that the client may have."""
    return scope_to_list(client.get_allowed_scope(txn.authorization_request.get("scope") or "")) or []
