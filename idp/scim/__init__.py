"""SCIM 2.0 provisioning (RFC 7643/7644) per realm at ``/realms/<realm>/scim/v2/``, built on
scim2-models, scim2-server and scim2-flask: ``routes`` registers the endpoints without them,
``server`` wires them on the first SCIM request and authenticates the API key, ``storage``
dispatches each resource type to its module (``users``; ``groups``, the realm's
organizations), ``filters`` turns SCIM filters into SQL."""
from __future__ import annotations


def init_app(app) -> None:
    """The endpoints; scim2's libraries load on the first SCIM request (``routes``)."""
    from .routes import scim_blueprint

    app.register_blueprint(scim_blueprint())
