"""The hosted login: a persisted login transaction advanced by an ordered list of stages."""


def init_app(app) -> None:
    """The login's own stage: the password (who is logging in)."""
    from .stages import register_stage
    from .transaction import PasswordStage

    register_stage(app, PasswordStage())
