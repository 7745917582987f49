"""A signed HTTP webhook: each text is POSTed as JSON ``{"to", "body"}`` to the operator's URL,
signed per Standard Webhooks, under the outbound rules of ``idp.webhooks.targets``."""
from .spec import PROVIDER

__all__ = ["PROVIDER"]
