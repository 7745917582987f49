"""Organizations on the login side (issue 16): the ``organization`` login stage (an
``organization=`` request, or the picker of a client that requires one), the invitation
pages, joining by verified domain when a login succeeds or an address is proven, and the
purge of old invitations. The data and rules live in ``idp.services.organizations`` and
``idp.services.roles``; the claims in ``idp.oidc.claims``."""
from __future__ import annotations


def init_app(app) -> None:
    from ..lifecycle.signals import address_proven
    from ..login.stages import register_stage
    from ..services.purge import Purge, register_purge
    from .invitations import purge_organization_invitations
    from .stage import OrganizationStage, join_by_verified_domain
    from .views import organization_invitations_bp, organization_stage_bp

    register_stage(app, OrganizationStage())
    register_purge(app, Purge("organization_invitations", purge_organization_invitations))
    address_proven.connect(join_by_verified_domain, weak=False)
    app.register_blueprint(organization_stage_bp)
    app.register_blueprint(organization_invitations_bp)
