"""Logging in through upstream identity providers (social and enterprise OpenID Connect).

Federated logins skip our MFA by default ("2FA is triggered only for password logins",
authrocket-2fa.txt); per provider, ``mfa_mode`` can be ``upstream`` (skip only when the
upstream's ``amr``/``acr`` holds a value the operator allowed for that provider) or ``require``
(always run ours). What the upstream says never counts as *our* second factor: a federated
login's ``amr`` is ``["fed"]`` plus what we verified ourselves."""


def init_app(app) -> None:
    """Federated logins change accounts only once the whole login has succeeded."""
    from ..lifecycle.signals import address_proven
    from ..login.completion import register_after_password, register_deferred_change
    from .linking import LINK_IDENTITY, LINK_USED, link_after_password, make_deferred_link, note_link_used

    register_deferred_change(app, LINK_IDENTITY, make_deferred_link)
    register_deferred_change(app, LINK_USED, note_link_used)
    register_after_password(app, link_after_password)
    address_proven.connect(_end_links_without_a_proven_address)


def _end_links_without_a_proven_address(user, *, reason: str) -> None:
    from .linking import remove_unproven_links

    remove_unproven_links(user, reason=reason)
