"""The second factor: one package per factor (``idp/mfa/<kind>/``) behind one interface
(``base.Factor``), the registry built from configuration (``registry``), and the verbs every
surface calls (``flows``)."""


def init_app(app) -> None:
    """The second factor as a login stage (``idp.mfa.stage``)."""
    from ..login.stages import register_stage
    from .stage import MfaStage

    register_stage(app, MfaStage())
    from ..login.completion import register_deferred_change

    register_deferred_change(app, "factor_offer_seen", _factor_offer_seen)
    _serve_factor_static_files(app)
    for factor in app.extensions["idp.mfa_factors"].all():
        factor.init_app(app)


def _factor_offer_seen(txn) -> None:
    """The offer of a factor after a login is made once (``views.offer``)."""
    from ..models import utcnow

    txn.user.factor_offer_seen_at = utcnow()


def _serve_factor_static_files(app) -> None:
    """``/mfa/static/<kind>/<file>`` from a factor's ``static/`` folder (its page scripts), and
    ``factor_static(kind, file)`` for templates."""
    from flask import Blueprint, abort, send_from_directory, url_for

    bp = Blueprint("mfa_static", __name__)

    @bp.get("/mfa/static/<kind>/<path:filename>")
    def static(kind, filename):
        folder = app.extensions["idp.mfa_factors"].static_folder(kind)
        if folder is None:
            abort(404)
        return send_from_directory(folder, filename, max_age=3600)

    app.register_blueprint(bp)
    app.jinja_env.globals["factor_static"] = lambda kind, filename: url_for("mfa_static.static", kind=kind,
                                                                           filename=filename)
