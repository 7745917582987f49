"""The ``idp`` command line. Every command takes ``--instance`` (or IDP_INSTANCE) and, where it
works inside a realm, ``--realm`` (default ``default``). Bad input is one line on stderr and a
non-zero exit."""
from __future__ import annotations

import functools
import json
import sys

import click

from .config import ConfigError

ON_OFF = click.Choice(["on", "off"])


def _flag(value):
    return None if value is None else value == "on"


class AppState:
    def __init__(self, instance, config):
        self.instance = instance
        self.config = config
        self._app = None

    @property
    def app(self):
        if self._app is None:
            self.build_app()
        return self._app

    def load_settings(self):
        from .config import load_settings

        try:
            return load_settings(self.config)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None

    def build_app(self, settings=None):
        """The app, on ``settings`` when given (a server derives its public URL first)."""
        from . import create_app

        try:
            self._app = create_app(self.instance, settings=settings, config_path=self.config)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        return self._app


def with_app(ready=True):
    """Run the command inside an app context; turn service errors into one-line errors."""

    def decorator(fn):
        @click.pass_obj
        @functools.wraps(fn)
        def wrapper(state: AppState, *args, **kwargs):
            from .extensions import db
            from .services import ServiceError

            app = state.app
            with app.app_context():
                try:
                    if ready:
                        _ensure_ready()
                    result = fn(*args, **kwargs)
                    commit()
                    _wait_for_mail(app)
                    return result
                except ServiceError as exc:
                    db.session.rollback()
                    raise click.ClickException(exc.message) from None

        return wrapper

    return decorator


def commit():
    """Save the command's changes; a database that refuses them is a one-line error and a
    non-zero exit. A command that reports what it did commits with this first, so it never
    says "added" or prints a secret for something that was not saved."""
    from sqlalchemy.exc import SQLAlchemyError

    from .extensions import db

    try:
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise click.ClickException(f"nothing was saved: the database refused the change ({reason})") from None


def _wait_for_mail(app):
    """A command returns once the mails it caused (security notifications) are sent."""
    from .mail import wait_for_deliveries

    wait_for_deliveries(app)


def _ensure_ready():
    """The embedded SQLite default migrates itself; other databases must be upgraded explicitly."""
    from .database import bootstrap, schema_is_current
    from .extensions import db

    current = schema_is_current()
    if not current and db.engine.dialect.name == "sqlite":
        bootstrap()
        return
    if not current:
        raise click.ClickException("the database schema is not current: run 'idp db upgrade' first")
    from .services.realms import ensure_default_realm

    ensure_default_realm()


def _realm(name):
    from .services.realms import get_realm

    return get_realm(name)


realm_option = click.option("--realm", "realm_name", default="default", show_default=True, help="Realm to work in.")


class IdpCommands(click.Group):
    """The ``idp`` group. Command groups whose modules import much (models, Authlib) are
    registered by name and loaded when they run: ``idp --help`` lists them without importing
    them, so that it answers at once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loaded_when_used: dict[str, tuple] = {}

    def add_group_loaded_when_used(self, name: str, load, short_help: str) -> None:
        """``load()`` registers the group ``name`` on this one."""
        self.loaded_when_used[name] = (load, short_help)

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.loaded_when_used})

    def get_command(self, ctx, name):
        if name in self.loaded_when_used and name not in self.commands:
            load, short_help = self.loaded_when_used[name]
            if ctx.meta.get("idp.listing_commands"):
                return click.Group(name, help=short_help)
            load()
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        ctx.meta["idp.listing_commands"] = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            del ctx.meta["idp.listing_commands"]


@click.group(cls=IdpCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--instance", envvar="IDP_INSTANCE", default="instance", show_default=True,
              type=click.Path(file_okay=False), help="Instance folder (database, keys, outboxes).")
@click.option("--config", envvar="IDP_CONFIG", default=None, type=click.Path(dir_okay=False),
              help="TOML configuration file.")
@click.pass_context
def main(ctx, instance, config):
    """idp: an OpenID Connect identity provider."""
    ctx.obj = AppState(instance, config)


# --- serve / demo ------------------------------------------------------------------------

def _run_server(app, host, port, announce):
    """Listen on ``host:port``, then ``announce()`` where, then serve until interrupted. A port
    in use is a one-line error before anything says "listening"."""
    from werkzeug.serving import make_server

    listening = _listening_socket(host, port)
    try:
        server = make_server(host, port, app, threaded=True, fd=listening.fileno())
    finally:
        listening.close()  # the server holds its own duplicate of it
    announce()
    _start_in_process_worker(app)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _listening_socket(host, port):
    import errno
    import socket

    from werkzeug.serving import get_sockaddr, select_address_family

    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"port {port} is in use on {host} by another program: choose another with --port "
                f"(or IDP_SERVER_PORT){'; on macOS AirPlay Receiver holds port 5000' if port == 5000 else ''}"
            ) from None
        raise click.ClickException(f"cannot listen on {_listen_url(host, port)}: {exc.strerror or exc}") from None
    return sock


def _start_in_process_worker(app):
    """On the embedded SQLite default there is one server process and no ``idp worker``: it
    delivers the webhooks itself, in a thread. Other databases run ``idp worker``."""
    from .extensions import db
    from .webhooks.worker import start_in_process_worker

    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        start_in_process_worker(app)
        click.echo("delivering webhooks in this process (SQLite)")


def _listen_url(host, port):
    shown = f"[{host}]" if ":" in host else host or "0.0.0.0"
    return f"http://{shown}:{port}"


def _development_app(state, host, port):
    """The app of a development server, where it listens, and a note on a derived public URL
    that is not simply that address. The public URL is the configured one, else derived from
    where it listens (``public_address``), before the app is built so that its trusted host and
    cookies follow it."""
    from .public_address import development_public_url

    settings = state.load_settings()
    host = host or settings.server.host
    port = port or settings.server.port
    note = None
    if not settings.server.public_url:
        settings.server.public_url, note = development_public_url(host, port)
    return state.build_app(settings), host, port, note


def _public_url_line(app, note) -> str:
    return f"public URL: {app.extensions['idp.settings'].server.public_url}" + (f" ({note})" if note else "")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default from config, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default from config, 5000).")
@click.pass_obj
def serve(state, host, port):
    """Run the development server (production: granian or gunicorn with 'idp.wsgi:app', as deploy/ runs them)."""
    app, host, port, note = _development_app(state, host, port)
    with app.app_context():
        _ensure_ready()

    def announce():
        click.echo(f"idp listening on {_listen_url(host, port)}")
        click.echo(_public_url_line(app, note))

    _run_server(app, host, port, announce)


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.pass_obj
def demo(state, host, port):
    """Set up a demo realm, client and user, and serve them with a demo relying page."""
    from .demo import setup_demo

    app, host, port, note = _development_app(state, host, port)
    public_url = app.extensions["idp.settings"].server.public_url
    with app.app_context():
        _ensure_ready()
        info = setup_demo(public_url)

    def announce():
        click.echo(f"idp listening on {_listen_url(host, port)}")
        if note:
            click.echo(_public_url_line(app, note))
        click.echo(f"Demo relying app: {public_url}/demo/")
        click.echo(f"  log in as {info['email']} / {info['password']}")
        click.echo(f"  SMS codes are written to {info['outbox']} and shown at {public_url}/demo/outbox")
        if app.extensions["idp.settings"].mail.backend == "outbox":
            click.echo(f"  mail (links to verify an address or reset a password) is written to {info['mail_outbox']} "
                       f"and shown at {public_url}/demo/mail")

    _run_server(app, host, port, announce)


# --- db ----------------------------------------------------------------------------------

@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
@with_app(ready=False)
def db_upgrade():
    """Apply the migrations in migrations/ to the configured database."""
    from .database import bootstrap

    bootstrap()
    click.echo("database is up to date")


@db.command("current")
@with_app(ready=False)
def db_current():
    from .database import schema_is_current

    click.echo("current" if schema_is_current() else "not current: run 'idp db upgrade'")


# --- purge -------------------------------------------------------------------------------

@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as a JSON object.")
@with_app()
def purge(as_json):
    """Delete expired rows now, printing how many per table (the server also does it every
    maintenance.purge_interval seconds)."""
    from flask import current_app

    from .services.purge import purge_expired

    deleted = purge_expired(current_app.extensions["idp.settings"])
    if as_json:
        click.echo(json.dumps(deleted, indent=2))
        return
    width = max(len(table) for table in deleted)
    for table, count in deleted.items():
        click.echo(f"{table.ljust(width)}  {count}")


# --- realms ------------------------------------------------------------------------------

def _realm_dict(realm):
    """Every realm setting under its command-line name (``realm_settings``), then the active SMS
    integrations. A token lifetime of null is the server default."""
    from .services.mfa_policy import active_sms_integrations
    from .services.realm_settings import REALM_SETTINGS, realm_setting_values

    values = realm_setting_values(realm)
    return {
        "name": realm.name,
        **{setting.cli_key: values[setting.name] for setting in REALM_SETTINGS},
        "factors": list(realm.mfa_factors or []),
        "active_sms_integrations": [i.name for i in active_sms_integrations(realm)],
    }


def _print_realm(realm, as_json):
    """``_realm_dict``; as text, a setting left to the server says what the server's value is."""
    from flask import current_app

    from .services.realm_settings import REALM_SETTINGS

    data = _realm_dict(realm)
    if not as_json:
        settings = current_app.extensions["idp.settings"]
        for setting in REALM_SETTINGS:
            if setting.nullable and data[setting.cli_key] is None:
                data[setting.cli_key] = f"{setting.default_from(settings)} (server default)"
    _print(data, as_json)


def _print(data, as_json):
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    if isinstance(data, list):
        for row in data:
            click.echo("  ".join(f"{v}" for v in row.values()))
        return
    for key, value in data.items():
        click.echo(f"{key}: {value}")


@main.group()
def realms():
    """Realms: isolated sets of users, clients, settings and keys."""


def _setting_options(setting) -> list:
    """The ``idp realms create|set`` option(s) of one realm setting: ``--NAME on|off`` for a
    switch (and, where ``negatable``, ``--NAME`` alone and ``--no-NAME``), a number, or text."""
    name, helptext = setting.cli_key, setting.command_line_help
    if setting.kind == "boolean":
        if not setting.negatable:
            return [click.option(setting.flag, name, type=ON_OFF, default=None, help=helptext or None)]
        return [
            click.option(setting.flag, name, type=ON_OFF, default=None, is_flag=False, flag_value="on",
                         help=helptext or None),
            click.option("--no-" + setting.flag[2:], f"{name}_off", is_flag=True, hidden=True),
        ]
    kind = int if setting.kind == "integer" else None
    return [click.option(setting.flag, name, type=kind, default=None, help=helptext or None)]


def realm_settings_options(fn):
    """Every setting of ``services.realm_settings`` as options of ``fn``."""
    from .services.realm_settings import REALM_SETTINGS

    options = [option for setting in REALM_SETTINGS for option in _setting_options(setting)]
    options.insert(0, click.option(
        "--factors", default=None,
        help="Comma-separated second factors the realm offers, e.g. totp,sms,email ('' for none); "
             "--sms/--totp are spellings of the same list."))
    for option in reversed(options):
        fn = option(fn)
    return fn


def _switch(kw, name):
    """``--NAME on|off``, ``--NAME`` alone (on) or ``--no-NAME`` (off); both at once is an error."""
    if kw[f"{name}_off"]:
        if kw[name] is not None:
            option = "--" + name.replace("_", "-")
            raise click.UsageError(f"give {option} or --no-{option[2:]}, not both")
        return False
    return _flag(kw[name])


def _settings_changes(kw):
    """The options given, as ``update_realm`` takes them (by setting name); ``--factors`` first,
    so that ``--sms``/``--totp`` given with it change the list it sets."""
    from .services.realm_settings import REALM_SETTINGS

    changes = {}
    if kw.get("factors") is not None:
        changes["mfa_factors"] = [k.strip() for k in kw["factors"].split(",") if k.strip()]
    for setting in REALM_SETTINGS:
        key = setting.cli_key
        if setting.kind == "boolean":
            value = _switch(kw, key) if setting.negatable else _flag(kw[key])
        elif setting.kind == "countries" and kw[key] is not None:
            value = [c for c in kw[key].split(",") if c.strip()]
        else:
            value = kw[key]
        if value is not None:
            changes[setting.name] = value
    return changes


@realms.command("create")
@click.argument("name")
@realm_settings_options
@click.option("--json", "as_json", is_flag=True)
@with_app()
def realms_create(name, as_json, **kw):
    """Create realm NAME."""
    from .services.realms import create_realm

    realm = create_realm(name, **_settings_changes(kw))
    _print_realm(realm, as_json)


@realms.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_app()
def realms_list(as_json):
    from .services.realms import list_realms

    rows = [{"name": r.name, "display_name": r.display_name} for r in list_realms()]
    _print(rows, as_json)


@realms.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@with_app()
def realms_show(name, as_json):
    """Every setting of realm NAME, token lifetimes included."""
    _print_realm(_realm(name), as_json)


@realms.command("set")
@click.argument("name")
@realm_settings_options
@click.option("--json", "as_json", is_flag=True)
@with_app()
def realms_set(name, as_json, **kw):
    """Change settings of realm NAME."""
    from .services.realms import update_realm

    realm = _realm(name)
    update_realm(realm, **_settings_changes(kw))
    _print_realm(realm, as_json)


# --- clients -----------------------------------------------------------------------------

def _client_dict(client):
    return {
        "client_id": client.client_id,
        "name": client.name,
        "public": client.public,
        "first_party": client.first_party,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "require_par": client.require_pushed_authorization_requests,
        "organization_required": client.organization_required,
        "dpop_required": client.dpop_bound_access_tokens,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "resource_server_for": [c.client_id for c in client.resource_server_for],
        "home_uri": client.home_uri,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "jwks_uri": client.jwks_uri,
        "jwks": client.jwks,
        "require_signed_request_object": bool(client.require_signed_request_object),
        "self_registered": bool(client.self_registered),
        "expires_at": client.expires_at.isoformat() if client.expires_at else None,
    }


AUTH_METHOD_HELP = ("How the client authenticates at the token endpoint: client_secret_basic (default; "
                    "client_secret_post also accepted), client_secret_jwt (a JWT signed with its secret), "
                    "private_key_jwt (a JWT signed with its key: give --jwks or --jwks-uri; it gets no secret).")
JWKS_HELP = "A file holding the client's public keys (a JSON Web Key Set; '-' reads standard input)."
JWKS_URI_HELP = "Where the client publishes its public keys (https; fetched and cached by the provider)."
AUTH_METHOD_CHOICE = click.Choice(["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"])


def _read_jwks(path):
    """The key set in the file ``path`` ('-': standard input); '' means none."""
    if path is None or path == "":
        return path
    try:
        if path == "-":
            return click.get_text_stream("stdin").read()
        with open(path, encoding="utf-8") as fh:
            return fh.read(1024 * 1024)
    except OSError as error:
        raise click.BadParameter(f"cannot read {path}: {error.strerror}", param_hint="--jwks") from None


GRANT_TYPE_HELP = ("A grant the client may use (repeatable): authorization_code, refresh_token, client_credentials, "
                   "urn:ietf:params:oauth:grant-type:device_code (or its short name device_code), "
                   "urn:ietf:params:oauth:grant-type:token-exchange (or token-exchange; confidential clients).")
RESOURCE_SERVER_FOR_HELP = ("This client is a resource server (an API) of CLIENT_ID and may introspect its tokens "
                            "(repeatable). A client may always introspect its own.")


DPOP_REQUIRED_HELP = ("This client must send a DPoP proof with every token request (RFC 9449): it never gets a "
                      "bearer token.")
HOME_URI_HELP = ("The app's home page (https): error and logout pages link back to it. Without it they have no "
                 "way back to the app.")


@main.group()
def clients():
    """Relying applications."""


@clients.command("create")
@realm_option
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact redirect URI (repeatable).")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True)
@click.option("--public", is_flag=True, help="A public (PKCE-only) client with no secret.")
@click.option("--third-party", is_flag=True, help="Ask users for consent.")
@click.option("--client-credentials/--no-client-credentials", default=None,
              help="Add (or leave out) the client_credentials grant; confidential clients only.")
@click.option("--grant-type", "grant_types", multiple=True, metavar="GRANT_TYPE",
              help=GRANT_TYPE_HELP + " Default: authorization_code and refresh_token when there is a redirect URI.")
@click.option("--id-token-alg", default="RS256", type=click.Choice(["RS256", "ES256", "EdDSA"]))
@click.option("--client-id", default=None, help="Choose the client id (default: random).")
@click.option("--theme", default=None, help="Theme for this client's pages (overrides the realm's).")
@click.option("--resource-server-for", "resource_server_for", multiple=True, metavar="CLIENT_ID",
              help=RESOURCE_SERVER_FOR_HELP)
@click.option("--home-uri", default=None, help=HOME_URI_HELP)
@click.option("--auth-method", default=None, type=AUTH_METHOD_CHOICE, help=AUTH_METHOD_HELP)
@click.option("--jwks", "jwks_file", default=None, metavar="FILE", help=JWKS_HELP)
@click.option("--jwks-uri", default=None, help=JWKS_URI_HELP)
@click.option("--require-request-object", is_flag=True,
              help="Authorization requests must come as signed request objects (RFC 9101).")
@click.option("--dpop-required", type=ON_OFF, default="off", show_default=True, help=DPOP_REQUIRED_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print client_id and the one-time client_secret as JSON.")
@with_app()
def clients_create(realm_name, name, redirect_uris, logout_uris, public, third_party, client_credentials,
                   grant_types, id_token_alg, client_id, theme, resource_server_for, home_uri, auth_method,
                   jwks_file, jwks_uri, require_request_object, dpop_required, as_json):
    from .services.clients import create_client

    client, secret = create_client(
        _realm(realm_name), name=name, redirect_uris=list(redirect_uris), public=public,
        post_logout_redirect_uris=list(logout_uris), first_party=not third_party,
        client_credentials=client_credentials, grant_types=list(grant_types) or None,
        id_token_signed_response_alg=id_token_alg, client_id=client_id,
        theme=theme, resource_server_for=list(resource_server_for), home_uri=home_uri,
        token_endpoint_auth_method=auth_method, jwks=_read_jwks(jwks_file) or None, jwks_uri=jwks_uri,
        require_signed_request_object=require_request_object,
        dpop_bound_access_tokens=_flag(dpop_required),
    )
    commit()
    data = {"client_id": client.client_id, "client_secret": secret, **_client_dict(client)}
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print(data, False)
        if secret:
            click.echo("The client secret is shown only this once.", err=True)


@clients.command("set")
@click.argument("client_id")
@realm_option
@click.option("--resource-server-for", "resource_server_for", multiple=True, metavar="CLIENT_ID",
              help=RESOURCE_SERVER_FOR_HELP + " Replaces the list; --resource-server-for '' clears it.")
@click.option("--grant-type", "grant_types", multiple=True, metavar="GRANT_TYPE",
              help=GRANT_TYPE_HELP + " Replaces the list.")
@click.option("--require-par", type=ON_OFF, default=None,
              help="This client must push its authorization requests first (RFC 9126).")
@click.option("--home-uri", default=None, help=HOME_URI_HELP + " --home-uri '' removes it.")
@click.option("--require-organization", type=ON_OFF, default=None,
              help="Every login is for one organization of the user (organization= or a picker).")
@click.option("--auth-method", default=None, type=AUTH_METHOD_CHOICE,
              help=AUTH_METHOD_HELP + " Switching to client_secret_jwt or back from private_key_jwt issues a new "
                                      "secret, shown once.")
@click.option("--jwks", "jwks_file", default=None, metavar="FILE", help=JWKS_HELP + " --jwks '' removes them.")
@click.option("--jwks-uri", default=None, help=JWKS_URI_HELP + " --jwks-uri '' removes it.")
@click.option("--require-request-object", type=ON_OFF, default=None,
              help="Authorization requests must come as signed request objects (RFC 9101).")
@click.option("--dpop-required", type=ON_OFF, default=None, help=DPOP_REQUIRED_HELP)
@click.option("--json", "as_json", is_flag=True)
@with_app()
def clients_set(client_id, realm_name, resource_server_for, grant_types, require_par, home_uri, require_organization,
                auth_method, jwks_file, jwks_uri, require_request_object, dpop_required, as_json):
    """Change settings of client CLIENT_ID."""
    from .services.clients import (
        get_client,
        set_client_grant_types,
        set_client_requires_dpop,
        set_client_requires_par,
        set_home_uri,
        set_resource_server_for,
    )

    client = get_client(_realm(realm_name), client_id)
    if resource_server_for:
        set_resource_server_for(client, list(resource_server_for))
    if grant_types:
        set_client_grant_types(client, list(grant_types))
    if require_par is not None:
        set_client_requires_par(client, _flag(require_par))
    if home_uri is not None:
        set_home_uri(client, home_uri)
    if require_organization is not None:
        from .services.organizations import set_client_organization_required

        set_client_organization_required(client, _flag(require_organization))
    secret = None
    if auth_method is not None or jwks_file is not None or jwks_uri is not None or require_request_object is not None:
        from .services.client_authentication import UNCHANGED, set_client_authentication

        secret = set_client_authentication(
            client, UNCHANGED if auth_method is None else auth_method,
            jwks=UNCHANGED if jwks_file is None else _read_jwks(jwks_file),
            jwks_uri=UNCHANGED if jwks_uri is None else jwks_uri,
            require_signed_request_object=None if require_request_object is None else _flag(require_request_object))
    if dpop_required is not None:
        set_client_requires_dpop(client, _flag(dpop_required))
    commit()
    _print({**_client_dict(client), **({"client_secret": secret} if secret else {})}, as_json)
    if secret and not as_json:
        click.echo("The new client secret is shown only this once.", err=True)


@clients.command("list")
@realm_option
@click.option("--json", "as_json", is_flag=True)
@with_app()
def clients_list(realm_name, as_json):
    from .services.clients import list_clients

    _print([_client_dict(c) for c in list_clients(_realm(realm_name))], as_json)


@clients.command("show")
@click.argument("client_id")
@realm_option
@click.option("--json", "as_json", is_flag=True)
@with_app()
def clients_show(client_id, realm_name, as_json):
    from .services.clients import get_client

    _print(_client_dict(get_client(_realm(realm_name), client_id)), as_json)


@clients.command("delete")
@click.argument("client_id")
@realm_option
@with_app()
def clients_delete(client_id, realm_name):
    from .services.clients import delete_client, get_client

    delete_client(get_client(_realm(realm_name), client_id))
    click.echo(f"deleted client {client_id}")


@clients.command("keep")
@click.argument("client_id")
@realm_option
@with_app()
def clients_keep(client_id, realm_name):
    """Keep an anonymously self-registered client CLIENT_ID: it no longer expires."""
    from .services.client_registration import keep_registered_client
    from .services.clients import get_client

    keep_registered_client(get_client(_realm(realm_name), client_id))
    commit()
    click.echo(f"client {client_id} no longer expires")


@clients.group("initial-token")
def initial_token():
    """Initial access tokens: apps register themselves at the realm's /register endpoint with one
    (RFC 7591; turn it on with 'idp realms set REALM --dynamic-registration on')."""


def _initial_token_dict(row, token=None):
    data = {"id": row.id, "note": row.note, "uses": row.uses, "max_uses": row.max_uses,
            "created_at": row.created_at.isoformat(), "expires_at": row.expires_at.isoformat()}
    if token is not None:
        data["token"] = token
    return data


@initial_token.command("create")
@realm_option
@click.option("--expires-in", type=int, default=86400, show_default=True, metavar="SECONDS",
              help="Seconds the token is valid (60 to a year).")
@click.option("--max-uses", type=int, default=None, metavar="N",
              help="Registrations it allows (default: any number until it expires).")
@click.option("--note", default="", help="What it is for (shown in the console).")
@click.option("--json", "as_json", is_flag=True, help="Print the one-time token as JSON.")
@with_app()
def initial_token_create(realm_name, expires_in, max_uses, note, as_json):
    """Create an initial access token; it is shown once."""
    from .services.client_registration import create_initial_access_token

    row, token = create_initial_access_token(_realm(realm_name), expires_in=expires_in, max_uses=max_uses, note=note)
    commit()
    if as_json:
        _print(_initial_token_dict(row, token), True)
        return
    click.echo(f"initial access token (shown once): {token}")
    click.echo(f"id {row.id}, expires {row.expires_at.isoformat()}, "
               f"{'unlimited uses' if row.max_uses is None else f'{row.max_uses} uses'}")


@initial_token.command("list")
@realm_option
@click.option("--json", "as_json", is_flag=True)
@with_app()
def initial_token_list(realm_name, as_json):
    """The realm's unexpired initial access tokens (never the tokens themselves)."""
    from .services.client_registration import list_initial_access_tokens

    _print([_initial_token_dict(row) for row in list_initial_access_tokens(_realm(realm_name))], as_json)


@initial_token.command("revoke")
@click.argument("token_id", type=int)
@realm_option
@with_app()
def initial_token_revoke(token_id, realm_name):
    """Revoke initial access token TOKEN_ID (clients registered with it stay)."""
    from .services.client_registration import revoke_initial_access_token

    revoke_initial_access_token(_realm(realm_name), token_id)
    commit()
    click.echo(f"revoked initial access token {token_id}")


# --- users -------------------------------------------------------------------------------

def _user_dict(user):
    from .mfa.flows import usable_factors
    from .mfa.sms import phone_on_record, phone_verified
    from .mfa.stage import user_has_mfa

    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "email_verified": user.email_verified,
        "registration_pending": user.registration_pending,
        "mfa": user.mfa_enabled,
        "has_mfa": user_has_mfa(user),
        "phone": phone_on_record(user),
        "phone_verified": phone_verified(user),
        "factors": [factor.kind for factor in usable_factors(user.realm, user)],
        "disabled": bool(user.disabled),
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


def _read_password(password):
    if password == "-":
        return sys.stdin.readline().rstrip("\n")
    return password


@main.group()
def users():
    """Users of a realm."""


@users.command("create")
@realm_option
@click.option("--email", required=True)
@click.option("--password", default=None, help="The password, or '-' to read it from standard input.")
@click.option("--name", default=None)
@click.option("--email-verified", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@with_app()
def users_create(realm_name, email, password, name, email_verified, as_json):
    from .services.users import create_user

    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException("give --password (or '--password -' to read it from standard input)")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = create_user(_realm(realm_name), email=email, password=_read_password(password), name=name,
                       email_verified=email_verified)
    _print(_user_dict(user), as_json)


@users.command("list")
@realm_option
@click.option("--email", "email_contains", default=None, help="Filter by part of the email.")
@click.option("--json", "as_json", is_flag=True)
@with_app()
def users_list(realm_name, email_contains, as_json):
    from .services.users import list_users

    rows = [{"id": u.id, "email": u.email, "name": u.name or ""} for u in
            list_users(_realm(realm_name), email_contains=email_contains, limit=10000)]
    _print(rows, as_json)


@users.command("show")
@click.argument("email")
@realm_option
@click.option("--json", "as_json", is_flag=True)
@with_app()
def users_show(email, realm_name, as_json):
    from .services.users import get_user

    _print(_user_dict(get_user(_realm(realm_name), email)), as_json)


@users.command("set")
@click.argument("email")
@realm_option
@click.option("--name", default=None)
@click.option("--new-email", default=None)
@click.option("--password", default=None, help="New password, or '-' to read it from standard input. Ends the "
                                                "user's sessions, app tokens and remembered devices.")
@click.option("--keep-sessions", is_flag=True, help="With --password: keep the user's sessions and app tokens.")
@click.option("--email-verified", type=ON_OFF, default=None)
@click.option("--mfa", type=ON_OFF, default=None, help="Require a second factor from this user.")
@click.option("--phone", default=None, help="Phone in international format, e.g. +14155550100; '' clears.")
@click.option("--disabled", type=ON_OFF, default=None)
@click.option("--json", "as_json", is_flag=True)
@with_app()
def users_set(email, realm_name, name, new_email, password, keep_sessions, email_verified, mfa, phone, disabled,
              as_json):
    from .mfa.sms import admin_set_phone
    from .services.mfa_users import admin_set_mfa
    from .services.sign_out import change_password
    from .services.users import get_user, update_user

    if keep_sessions and password is None:
        raise click.UsageError("--keep-sessions goes with --password")
    user = get_user(_realm(realm_name), email)
    update_user(user, name=name, email=new_email, email_verified=_flag(email_verified))
    if password is not None:
        change_password(user, _read_password(password), reason="admin", keep_sessions=keep_sessions)
    if phone is not None:
        admin_set_phone(user, phone)
    if mfa is not None:
        admin_set_mfa(user, _flag(mfa))
    if disabled is not None:
        user.disabled = _flag(disabled)
    _print(_user_dict(user), as_json)


@users.command("forget-devices")
@click.argument("email")
@realm_option
@with_app()
def users_forget_devices(email, realm_name):
    """Forget every browser EMAIL asked to remember: each asks for the second factor again."""
    from .lifecycle.devices import forget_all_devices
    from .services.users import get_user

    count = forget_all_devices(get_user(_realm(realm_name), email), reason="admin")
    click.echo(f"forgot {count} remembered device{'s' if count != 1 else ''} of {email}")


@users.command("delete")
@click.argument("email")
@realm_option
@with_app()
def users_delete(email, realm_name):
    from .services.users import delete_user, get_user

    delete_user(get_user(_realm(realm_name), email))
    click.echo(f"deleted user {email}")


@users.command("import")
@click.argument("file", type=click.File("rb"))
@realm_option
@click.option("--dry-run", is_flag=True, help="Check every line and report; write nothing.")
@click.option("--batch-size", type=click.IntRange(1, 10000), default=1000, show_default=True,
              help="Users committed together.")
@click.option("--new-ids", is_flag=True, help="Give every user a new id instead of the line's (to copy users "
                                              "between realms of one server, where their ids are taken).")
@with_app()
def users_import(file, realm_name, dry_run, batch_size, new_ids):
    """Import users from FILE, one JSON object per line ('-' reads standard input).

    Each rejected line is reported on standard error as 'line N: reason' and skipped; a user
    is imported whole or not at all. The exit status is 1 when any line was rejected."""
    from .transfer.jsonl import import_users

    def rejected(number, reason):
        click.echo(f"line {number}: {reason}", err=True)

    report = import_users(_realm(realm_name), file, dry_run=dry_run, batch_size=batch_size, new_ids=new_ids,
                          on_rejected=rejected)
    click.echo(report.summary())
    if report.rejected:
        raise SystemExit(1)


@users.command("export")
@realm_option
@click.option("--output", "-o", type=click.File("w", encoding="utf-8", atomic=True), default="-",
              help="File to write (standard output by default).")
@with_app()
def users_export(realm_name, output):
    """Write every user of the realm, one JSON object per line, in the format 'idp users import'
    reads. The lines hold password hashes and TOTP secrets: keep the file as secret as the database."""
    from .transfer.jsonl import export_users

    count = export_users(_realm(realm_name), output.write)
    output.flush()
    if output is not sys.stdout and getattr(output, "name", "-") != "<stdout>":
        click.echo(f"exported {count} user(s)", err=True)


# --- keys --------------------------------------------------------------------------------

@main.group()
def keys():
    """Signing keys."""


@keys.command("rotate")
@realm_option
@with_app()
def keys_rotate(realm_name):
    """Sign with new keys from now on; keep publishing the previous ones until their tokens expire."""
    from .services.keys import rotate_realm_keys

    rows = rotate_realm_keys(_realm(realm_name))
    for row in rows:
        click.echo(f"{row.alg} {row.kid}")


# --- sms integrations ----------------------------------------------------------------------

@main.group("sms-integrations")
def sms_integrations():
    """SMS sending backends of a realm (the first active one sends)."""


def _provider_kinds() -> list[str]:
    from .sms.registry import shipped_providers

    return [spec.kind for spec in shipped_providers()]


def _provider_options(command):
    """One option per field of every shipped SMS provider (``--account-sid`` ...), from the specs."""
    from .sms.registry import all_fields, shipped_providers

    for spec, spec_field in reversed(all_fields(shipped_providers())):
        label = spec_field.label if spec_field.label.startswith(spec.label) else f"{spec.label}: {spec_field.label}"
        text = f"{label}." + (f" {spec_field.help}" if spec_field.help else "")
        if spec_field.envvar:
            text += f" Also read from {spec_field.envvar}."
        command = click.option(spec_field.option, spec_field.name, default=None, envvar=spec_field.envvar,
                               help=text)(command)
    return command


@sms_integrations.command("add")
@realm_option
@click.option("--kind", type=click.Choice(_provider_kinds()), required=True,
              help="The provider; this server offers those in [sms] providers.")
@click.option("--name", required=True)
@click.option("--active", is_flag=True, help="Activate it now.")
@_provider_options
@with_app()
def sms_add(realm_name, kind, name, active, **values):
    """Add an SMS integration; each provider reads its own options and ignores the others'."""
    from .services.sms_integrations import add_integration

    row = add_integration(_realm(realm_name), kind=kind, name=name, active=active, **values)
    click.echo(f"added {row.kind} integration '{row.name}' ({'active' if row.active else 'inactive'})")


@sms_integrations.command("set")
@realm_option
@click.argument("name")
@_provider_options
@with_app()
def sms_set(realm_name, name, **values):
    """Change the settings of the SMS integration NAME: the options given (an empty one clears
    it); the secret is kept unless a new one is given."""
    from .services import sms_integrations as service

    row = service.get_integration(_realm(realm_name), name)
    changed = service.change_integration(row, **values)
    click.echo(f"changed {', '.join(changed)} of integration '{name}'" if changed else f"nothing changed in '{name}'")


@sms_integrations.command("list")
@realm_option
@click.option("--json", "as_json", is_flag=True)
@with_app()
def sms_list(realm_name, as_json):
    from .services.sms_integrations import describe, list_integrations

    _print([describe(i) for i in list_integrations(_realm(realm_name))], as_json)


def _sms_change(action):
    @realm_option
    @click.argument("name")
    @with_app()
    def command(realm_name, name):
        from .services import sms_integrations as service

        row = service.get_integration(_realm(realm_name), name)
        getattr(service, f"{action}_integration")(row)
        click.echo(f"{action}d integration '{name}'" if action != "remove" else f"removed integration '{name}'")

    command.__name__ = f"sms_{action}"
    command.__doc__ = f"{action.title()} the SMS integration NAME."
    return command


for _action in ("activate", "deactivate", "remove"):
    sms_integrations.command(_action)(_sms_change(_action))


# --- api keys ------------------------------------------------------------------------------

@main.group("api-keys")
def api_keys():
    """API keys for the management API (sent as 'Authorization: Bearer <key>'): a realm's, or
    server-level ones that work in every realm."""


def _api_key_dict(key):
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "realm": key.realm.name if key.realm is not None else None,
        "scopes": list(key.scopes or []),
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _key_owner(realm_name, server):
    """The realm of the keys a command works on, or None for server-level keys."""
    if server:
        if realm_name is not None:
            raise click.UsageError("give --realm or --server, not both")
        return None
    return _realm(realm_name or "default")


def _scope_help():
    from .services.api_key_scopes import SCOPES

    return ("What the key may do (repeatable; default: every scope): "
            + "; ".join(f"{scope}: {text[0].lower() + text[1:].rstrip('.')}" for scope, text in SCOPES.items()) + ".")


key_realm_option = click.option("--realm", "realm_name", default=None,
                                help="Realm the key works in.  [default: default]")
server_option = click.option("--server", is_flag=True,
                             help="A server-level key, for every realm (an operator of many realms).")


@api_keys.command("create")
@key_realm_option
@server_option
@click.option("--name", required=True, help="What the key is for, such as the app that uses it.")
@click.option("--scope", "scopes", multiple=True, metavar="SCOPE", help=_scope_help())
@click.option("--expires", default=None, metavar="WHEN",
              help="When the key stops working: a duration (90d, 12h, 8w) or a date (2027-01-31). Default: never.")
@click.option("--json", "as_json", is_flag=True, help="Print the key and its one-time secret as JSON.")
@with_app()
def api_keys_create(realm_name, server, name, scopes, expires, as_json):
    """Create a key; its secret is printed only this once."""
    from .services.api_keys import create_api_key, parse_expiry

    owner = _key_owner(realm_name, server)
    expires_at = parse_expiry(expires) if expires is not None else None
    key, secret = create_api_key(owner, name, scopes=list(scopes) or None, expires_at=expires_at)
    commit()
    if as_json:
        click.echo(json.dumps({"secret": secret, **_api_key_dict(key)}, indent=2))
        return
    click.echo(secret)
    where = "at server level (every realm)" if owner is None else f"in realm '{owner.name}'"
    expiry = f", expires {key.expires_at.isoformat()}" if key.expires_at else ""
    click.echo(f"API key '{key.name}' created {where} with scopes {' '.join(key.scopes)}{expiry}. "
               "The secret is shown only this once.", err=True)


@api_keys.command("list")
@key_realm_option
@server_option
@click.option("--json", "as_json", is_flag=True)
@with_app()
def api_keys_list(realm_name, server, as_json):
    from .services.api_keys import list_api_keys

    _print([_api_key_dict(k) for k in list_api_keys(_key_owner(realm_name, server))], as_json)


@api_keys.command("revoke")
@click.argument("name")
@key_realm_option
@server_option
@with_app()
def api_keys_revoke(name, realm_name, server):
    """Revoke the active key NAME; requests with it are refused from now on."""
    from .services.api_keys import revoke_api_key

    revoke_api_key(_key_owner(realm_name, server), name)
    commit()
    click.echo(f"revoked API key '{name}'")


def _register_providers():
    from .social.cli import register as register_providers

    register_providers(main, with_app=with_app, realm_option=realm_option, realm_lookup=_realm, printer=_print,
                       commit=commit)


def _register_webhooks():
    """``idp webhooks ...`` and ``idp worker`` (one module)."""
    from .webhooks.cli import register as register_webhooks

    register_webhooks(main, with_app=with_app, realm_option=realm_option, realm_lookup=_realm, printer=_print,
                      commit=commit)


def _register_organizations():
    """``idp orgs ...`` and ``idp roles ...`` (one module)."""
    from .organizations.cli import register as register_organizations

    register_organizations(main, with_app=with_app, realm_option=realm_option, realm_lookup=_realm, printer=_print,
                           commit=commit)


main.add_group_loaded_when_used("orgs", _register_organizations,
                                "Organizations: a realm's customers or teams, their members and roles.")
main.add_group_loaded_when_used("roles", _register_organizations,
                                "Roles: named sets of permissions, given to users for the realm or inside organizations.")
main.add_group_loaded_when_used("providers", _register_providers,
                                "Upstream identity providers (social and enterprise OpenID Connect).")
main.add_group_loaded_when_used("webhooks", _register_webhooks,
                                "Webhooks: events of a realm POSTed to a URL, signed per Standard Webhooks.")
main.add_group_loaded_when_used("worker", _register_webhooks,
                                "Deliver webhooks (claims due deliveries, retries with back-off).")


# --- admins --------------------------------------------------------------------------------

@main.group()
def admins():
    """Administrators of the console at /admin: users of the 'admin' realm with a role."""


def _admin_dict(user, role):
    return {"email": user.email, "role": role, "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}


@admins.command("create")
@click.option("--email", required=True)
@click.option("--password", default=None, help="The password, or '-' to read it from standard input.")
@click.option("--role", type=click.Choice(["owner", "operator", "viewer"]), required=True,
              help="owner: everything; operator: users and clients; viewer: read-only.")
@click.option("--name", default=None)
@click.option("--json", "as_json", is_flag=True)
@with_app()
def admins_create(email, password, role, name, as_json):
    """Create an administrator; the first console login sets up an authenticator app."""
    from .admin.accounts import create_admin

    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException("give --password (or '--password -' to read it from standard input)")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = create_admin(email=email, password=_read_password(password), role=role, name=name)
    _print(_admin_dict(user, role), as_json)


@admins.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_app()
def admins_list(as_json):
    from .admin.accounts import list_admins

    _print([_admin_dict(user, role) for user, role in list_admins()], as_json)


@admins.command("set-role")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "operator", "viewer"]), required=True)
@with_app()
def admins_set_role(email, role):
    from .admin.accounts import set_admin_role
    from .services.realms import ADMIN_REALM
    from .services.users import get_user

    set_admin_role(get_user(_realm(ADMIN_REALM), email), role)
    click.echo(f"{email} is now {role}")


if __name__ == "__main__":
    main()
