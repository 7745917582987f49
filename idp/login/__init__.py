"""The hosted login: a persisted login transaction advanced by an ordered list of stages."""


def init_app(app) -> None:
    """The login's own stage, the password (who is logging in), and consent."""
    from .stages import register_stage
    from .transaction import ConsentStage, PasswordStage

    register_stage(app, PasswordStage())
    register_stage(app, ConsentStage())
