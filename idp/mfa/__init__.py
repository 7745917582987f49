"""The second factor: one module per factor behind one interface (``base.Factor``)."""


def init_app(app) -> None:
    """The second factor as a login stage (``idp.mfa.stage``)."""
    from ..login.stages import register_stage
    from .stage import MfaStage

    register_stage(app, MfaStage())
