"""The second factor: one package per factor (``idp/mfa/<kind>/``) behind one interface
(``base.Factor``), the registry built from configuration (``registry``), and the verbs every
surface calls (``flows``)."""


def init_app(app) -> None:
    """The second factor as a login stage (``idp.mfa.stage``)."""
    from ..login.stages import register_stage
    from .stage import MfaStage

    register_stage(app, MfaStage())
