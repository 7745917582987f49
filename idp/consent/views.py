"""The consent page: /realms/<realm>/login/<transaction>/consent."""
from __future__ import annotations

from flask import g, request, url_for

from ..i18n import _, _l
from ..login import flow
from ..login.forms import ConfirmForm
from ..login.stages import next_stage
from ..login.transaction import complete_stage, load_transaction, transaction_blueprint
from ..services.clients import find_client
from ..services.consents import record_consent
from ..themes import render_page
from .stage import requested_scopes

consent_bp = transaction_blueprint("consent", __name__, "/consent")

SCOPE_DESCRIPTIONS = {
    "openid": _l("Know who you are"),
    "profile": _l("See your name"),
    "email": _l("See your email address"),
    "offline_access": _l("Stay signed in when you are not using it"),
    "roles": _l("See your roles and permissions"),
    "organizations": _l("See which organizations you belong to"),
}


@consent_bp.route("", methods=["GET", "POST"])
def consent():
    txn = load_transaction(g.realm, g.txn_id)
    stage = next_stage(txn)
    if stage is None or stage.key != "consent":
        return flow.advance(txn)
    form = ConfirmForm()
    client = find_client(txn.realm, txn.client_id)
    if form.validate_on_submit():
        if request.form.get("decision") == "allow":
            if client is not None and not client.first_party:
                record_consent(txn.user, client, requested_scopes(txn, client))
            complete_stage(txn, "consent")
            return flow.advance(txn)
        return flow.deny(txn, "access_denied")
    granted = requested_scopes(txn, client) if client is not None else []
    scopes = [(s, SCOPE_DESCRIPTIONS.get(s, s)) for s in granted]
    return render_page(
        "consent.html", realm=txn.realm, client=client, form=form, scopes=scopes,
        action_url=url_for("consent.consent"), page_title=_("Allow access"),
    )
