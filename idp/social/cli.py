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
    @click.option("--mfa-mode", type=click.Choice(MFA_MODES), default="skip", show_default=True,
                  help="skip: no second factor of ours after this provider; upstream: ours unless the upstream "
                       "sent an allowed amr/acr value; require: always ours.")
    @upstream_mfa_options
    @trust_email_option
    @click.option("--disabled", is_flag=True, help="Add it turned off.")
    @with_app()
    def add(realm_name, kind, name, issuer, client_id, client_secret, scope, display_name, mfa_mode,
            upstream_mfa_amr, upstream_mfa_acr, trust_email, disabled):
        from .providers import add_provider

        row = add_provider(realm_lookup(realm_name), kind=kind, name=name, issuer=issuer, client_id=client_id,
                           client_secret=client_secret, scope=scope, mfa_mode=mfa_mode,
                           display_name=display_name, enabled=not disabled,
                           upstream_mfa_amr=list(upstream_mfa_amr) or None,
                           upstream_mfa_acr=list(upstream_mfa_acr) or None,
                           trust_email=None if trust_email is None else trust_email == "on")
        commit()
        click.echo(f"added {row.kind} provider '{row.name}' ({'enabled' if row.enabled else 'disabled'})")
        click.echo(f"register this redirect URI upstream: {_public_url()}/realms/{realm_name}/social/callback")

    @providers.command("set")
    @realm_option
    @click.argument("name")
    @click.option("--issuer", default=None, help="Issuer URL (not for github).")
    @click.option("--client-id", default=None)
    @click.option("--client-secret", default=None,
                  help="New client secret, or '-' to read it from standard input; stored encrypted.")
    @click.option("--scope", default=None)
    @click.option("--display-name", default=None)
    @click.option("--mfa-mode", type=click.Choice(MFA_MODES), default=None)
    @upstream_mfa_options
    @click.option("--clear-upstream-mfa", is_flag=True,
                  help="Forget every allowed amr/acr value (then give new ones, or leave upstream mode).")
    @trust_email_option
    @click.option("--disabled/--enabled", "disabled", default=None, help="Turn the provider off or on.")
    @with_app()
    def set_(realm_name, name, issuer, client_id, client_secret, scope, display_name, mfa_mode, upstream_mfa_amr,
             upstream_mfa_acr, clear_upstream_mfa, trust_email, disabled):
        """Change provider NAME: any option of 'providers add' but its kind and name. What is not
        given stays as it is."""
        import sys

        from .providers import describe, get_provider, update_provider

        if client_secret == "-":
            client_secret = sys.stdin.readline().rstrip("\n")
        row = get_provider(realm_lookup(realm_name), name)
        update_provider(
            row, display_name=display_name, issuer=issuer, client_id=client_id, client_secret=client_secret,
            scope=scope, mfa_mode=mfa_mode,
            upstream_mfa_amr=list(upstream_mfa_amr) if upstream_mfa_amr or clear_upstream_mfa else None,
            upstream_mfa_acr=list(upstream_mfa_acr) if upstream_mfa_acr or clear_upstream_mfa else None,
            trust_email=None if trust_email is None else trust_email == "on",
            enabled=None if disabled is None else not disabled)
        info = describe(row)
        commit()
        click.echo(f"provider '{name}': mfa mode {info['mfa_mode']}; allowed upstream amr "
                   f"{info['upstream_mfa_amr'] or '-'}; allowed upstream acr {info['upstream_mfa_acr'] or '-'}; "
                   f"trust email {'on' if info['trust_email'] else 'off'}; "
                   f"{'enabled' if info['enabled'] else 'disabled'}")

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


def trust_email_option(command):
    return click.option(
        "--trust-email", type=click.Choice(["on", "off"]), default=None,
        help="on: the upstream's email_verified proves an address; off: a link we mail proves it "
             "(default: on for google, apple, github; off for oidc, microsoft).",
    )(command)


def upstream_mfa_options(command):
    command = click.option(
        "--upstream-mfa-acr", multiple=True, metavar="VALUE",
        help="In upstream mode, an acr value (exact) that counts as a second factor done upstream; repeatable.",
    )(command)
    return click.option(
        "--upstream-mfa-amr", multiple=True, metavar="VALUE",
        help="In upstream mode, an amr value (exact) that counts as a second factor done upstream; repeatable. "
             "Default for upstream mode: mfa.",
    )(command)


def _public_url() -> str:
    from flask import current_app

    configured = current_app.extensions["idp.settings"].server.public_url
    return configured.rstrip("/") if configured else "<public_url>"

