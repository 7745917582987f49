"""Consent as a login stage: the user allows a client the scopes it asks for (``stage``), on
the hosted consent page (``views``). Remembered consents live in ``idp.services.consents``."""
from __future__ import annotations


def init_app(app) -> None:
    from ..login.stages import register_stage
    from .stage import ConsentStage

    register_stage(app, ConsentStage())
