"""SCIM 2.0 provisioning (RFC 7643/7644) per realm at ``/realms/<realm>/scim/v2/``, built on
scim2-models, scim2-server and scim2-flask: ``server`` wires them and authenticates the API
key, ``storage`` dispatches each resource type to its module (``users``; ``groups``, the
realm's organizations), ``filters`` turns SCIM filters into SQL."""
from __future__ import annotations


def init_app(app) -> None:
    from .server import init_app as register

    register(app)
