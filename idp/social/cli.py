"""``idp providers ...``: upstream identity providers of a realm."""
from __future__ import annotations

import click

from .providers import KINDS, MFA_MODES


def register(main, *, with_app, realm_option, realm_lookup, printer, commit):
    """``commit`` saves a command's changes or fails with a one-line error: each command commits
    before it says what it did."""

    @main.group()
    def providers():
        """Upstream identity providers (social and enterprise OpenID Connect)."""

    @providers.command("add")
    @realm_option
    @click.option("--kind", type=click.Choice(KINDS), required=True)
    @click.option("--name", required=True)
    @click.option("--issuer", default=None, help="Issuer URL (required for --kind oidc).")
    @click.option("--client-id", required=True)
    @click.option("--client-secret", default=None, envvar="IDP_PROVIDER_CLIENT_SECRET",
                  help="Client secret (or IDP_PROVIDER_CLIENT_SECRET); stored encrypted.")
    @click.option("--scope", default=None)
    @click.option("--display-name", default=None)
    @click.option("--mfa-mode", type=click.Choice(MFA_MODES), default="skip", show_default=True)
    @click.option("--disabled", is_flag=True, help="Add it turned off.")
    @with_app()
    def add(realm_name, kind, name, issuer, client_id, client_secret, scope, display_name, mfa_mode, disabled):
        from .providers import add_provider

        row = add_provider(realm_lookup(realm_name), kind=kind, name=name, issuer=issuer, client_id=client_id,
                           client_secret=client_secret, scope=scope, mfa_mode=mfa_mode,
                           display_name=display_name, enabled=not disabled)
        commit()
        click.echo(f"added {row.kind} provider '{row.name}' ({'enabled' if row.enabled else 'disabled'})")
        click.echo(f"register this redirect URI upstream: {_public_url()}/realms/{realm_name}/social/callback")

    @providers.command("list")
    @realm_option
    @click.option("--json", "as_json", is_flag=True)
    @with_app()
    def list_(realm_name, as_json):
        from .providers import describe, list_providers

        printer([describe(p) for p in list_providers(realm_lookup(realm_name))], as_json)

    def change(action):
        @realm_option
        @click.argument("name")
        @with_app()
        def command(realm_name, name):
            from .providers import get_provider, remove_provider, set_provider_enabled

            row = get_provider(realm_lookup(realm_name), name)
            if action == "remove":
                remove_provider(row)
            else:
                set_provider_enabled(row, action == "enable")
            commit()
            click.echo(f"{action}d provider '{name}'" if action != "remove" else f"removed provider '{name}'")

        command.__name__ = f"provider_{action}"
        command.__doc__ = f"{action.title()} the provider NAME."
        return command

    for action in ("enable", "disable", "remove"):
        providers.command(action)(change(action))
    return providers


def _public_url() -> str:
    from flask import current_app

    configured = current_app.extensions["idp.settings"].server.public_url
    return configured.rstrip("/") if configured else "<public_url>"

