"""The MFA step of a login: /realms/<realm>/login/<transaction>/mfa/..."""
from __future__ import annotations

from flask import Blueprint, g

from ..login.transaction import TransactionInvalid, load_transaction
from ..web import add_realm_name, load_realm, render_error

mfa_bp = Blueprint("mfa", __name__, url_prefix="/realms/<realm_name>/login/<txn_id>/mfa")
mfa_bp.url_value_preprocessor(load_realm)
mfa_bp.url_defaults(add_realm_name)


@mfa_bp.url_value_preprocessor
def load_txn_id(endpoint, values):
    g.txn_id = values.pop("txn_id", None) if values else None


@mfa_bp.url_defaults
def add_txn_id(endpoint, values):
    if "txn_id" not in values and g.get("txn_id"):
        values["txn_id"] = g.txn_id


@mfa_bp.errorhandler(TransactionInvalid)
def transaction_invalid(error):
    return render_error(400, "This login cannot continue", str(error))


@mfa_bp.route("", methods=["GET", "POST"])
def start():
    load_transaction(g.realm, g.txn_id)
    return render_error(501, "Two-factor authentication", "The MFA step is being built.")
