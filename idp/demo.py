"""The demo relying app at /demo/: a real Authlib OAuth client doing code + PKCE against the
provider it is served beside, showing the decoded ID token and userinfo. Only mounted data is
the demo realm's; it is meant for trying the provider out, not for production."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request, session, url_for

from .extensions import db
from .models import Client, Realm
from .public_address import LOOPBACK_NAMES

DEMO_REALM = "demo"
DEMO_CLIENT_ID = "demo-app"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "correct-horse-battery"
DEMO_PHONE = "+14155550100"

demo_bp = Blueprint("demo", __name__, url_prefix="/demo")


def setup_demo(public_url: str) -> dict:
    """Create (once) the demo realm with SMS and TOTP MFA on, an outbox SMS integration, the demo
    client and a demo user who has MFA with an admin-set phone."""
    from .services.clients import create_client, find_client
    from .mfa.sms import admin_set_phone
    from .services.mfa_users import admin_set_mfa
    from .services.realms import create_realm, find_realm, update_realm
    from .services.sms_integrations import add_integration, list_integrations
    from .services.users import create_user, find_user_by_email

    realm = find_realm(DEMO_REALM) or create_realm(DEMO_REALM, display_name="Demo")
    if not list_integrations(realm):
        add_integration(realm, kind="outbox", name="outbox", active=True)
    update_realm(realm, mfa_enabled=True, sms_enabled=True, totp_enabled=True, mfa_registration_form=True)
    redirect_uri = f"{public_url}/demo/callback"
    home_uris = _demo_home_uris(public_url)
    client = find_client(realm, DEMO_CLIENT_ID)
    if client is None:
        client, _ = create_client(realm, name="Demo App", redirect_uris=[redirect_uri], public=True,
                                  post_logout_redirect_uris=home_uris, client_id=DEMO_CLIENT_ID)
    else:
        if redirect_uri not in client.redirect_uris:
            client.redirect_uris = [*client.redirect_uris, redirect_uri]
        missing = [uri for uri in home_uris if uri not in client.post_logout_redirect_uris]
        if missing:
            client.post_logout_redirect_uris = [*client.post_logout_redirect_uris, *missing]
    user = find_user_by_email(realm, DEMO_EMAIL)
    if user is None:
        user = create_user(realm, email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo User", email_verified=True)
        admin_set_phone(user, DEMO_PHONE)
        admin_set_mfa(user, True)
    db.session.commit()
    settings = current_app.extensions["idp.settings"]
    return {"email": DEMO_EMAIL, "password": DEMO_PASSWORD,
            "outbox": str(Path(current_app.instance_path) / settings.sms.outbox_file),
            "mail_outbox": str(Path(current_app.instance_path) / settings.mail.outbox_file)}


def _demo_home_uris(public_url: str) -> list[str]:
    """Where logging out of the demo may return to: its page at the public URL and, on a
    loopback public URL, at the other loopback name too (post-logout redirect URIs match
    exactly; the loopback exception of RFC 8252 is for redirect URIs)."""
    from urllib.parse import urlsplit

    parts = urlsplit(public_url)
    names = LOOPBACK_NAMES if parts.hostname in LOOPBACK_NAMES else (parts.hostname,)
    port = f":{parts.port}" if parts.port else ""
    return [f"{public_url}/demo/"] + [f"{parts.scheme}://{name}{port}{parts.path}/demo/" for name in names
                                      if name != parts.hostname]


def _demo_url(path: str) -> str:
    """``/demo/…`` at the address the browser opened the demo at when that is a loopback name
    (its state cookie lives there; the provider takes the demo client's loopback redirect URIs
    on either name, RFC 8252 §7.3), else at the public URL."""
    public_url = current_app.extensions["idp.settings"].server.public_url.rstrip("/")
    if request.host.rsplit(":", 1)[0] in LOOPBACK_NAMES:
        return f"{request.host_url.rstrip('/')}{urlsplit(public_url).path}{path}"
    return f"{public_url}{path}"


def _oauth_client():
    """Authlib's client (with ``requests``), loaded when the demo is used, not by every worker."""
    from authlib.integrations.flask_client import OAuth

    oauth = current_app.extensions.get("idp.demo_oauth")
    if oauth is None:
        oauth = OAuth(current_app)
        current_app.extensions["idp.demo_oauth"] = oauth
    client = oauth.create_client("demo")
    if client is None:
        public_url = current_app.extensions["idp.settings"].server.public_url.rstrip("/")
        oauth.register(
            "demo",
            client_id=DEMO_CLIENT_ID,
            server_metadata_url=f"{public_url}/realms/{DEMO_REALM}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256",
                           "token_endpoint_auth_method": "none"},
        )
        client = oauth.create_client("demo")
    return client


def _demo_ready() -> bool:
    return db.session.scalar(db.select(Client.id).filter_by(client_id=DEMO_CLIENT_ID)) is not None


@demo_bp.get("/")
def home():
    from .services.realms import find_realm
    from .themes import render_page

    if not _demo_ready():
        return "The demo is not set up: start the provider with 'idp demo'.", 404
    token = session.get("demo_token")
    return render_page(
        "demo.html",
        realm=find_realm(DEMO_REALM),
        page_title="Demo App",
        logged_in=bool(token),
        login_url=url_for("demo.login"),
        logout_url=url_for("demo.logout"),
        account_url=url_for("account.home", realm_name=DEMO_REALM),
        id_token_claims=session.get("demo_claims"),
        userinfo=session.get("demo_userinfo"),
        raw_id_token=(token or {}).get("id_token"),
    )


@demo_bp.get("/login")
def login():
    return _oauth_client().authorize_redirect(_demo_url("/demo/callback"))


@demo_bp.get("/callback")
def callback():
    client = _oauth_client()
    token = client.authorize_access_token()
    session["demo_token"] = {"id_token": token.get("id_token")}
    session["demo_claims"] = dict(token.get("userinfo") or {})
    session["demo_userinfo"] = dict(client.userinfo(token=token))
    return redirect(url_for("demo.home"))


@demo_bp.get("/logout")
def logout():
    token = session.pop("demo_token", None) or {}
    session.pop("demo_claims", None)
    session.pop("demo_userinfo", None)
    public_url = current_app.extensions["idp.settings"].server.public_url.rstrip("/")
    from urllib.parse import urlencode

    home = _demo_url("/demo/")
    registered = db.session.scalar(db.select(Client.post_logout_redirect_uris).join(Client.realm)
                                   .where(Realm.name == DEMO_REALM, Client.client_id == DEMO_CLIENT_ID))
    query = urlencode({"id_token_hint": token.get("id_token") or "",
                       "post_logout_redirect_uri": home if home in (registered or []) else f"{public_url}/demo/"})
    return redirect(f"{public_url}/realms/{DEMO_REALM}/logout?{query}")


def _last_lines(path: Path, count: int) -> list[dict]:
    """The newest ``count`` JSON lines of a development outbox, newest first."""
    from flask import abort, request

    if not _demo_ready() or request.remote_addr not in ("127.0.0.1", "::1"):
        abort(404)
    lines = path.read_text().splitlines()[-count:] if path.exists() else []
    messages = []
    for line in reversed(lines):
        try:
            messages.append(json.loads(line))
        except ValueError:  # a line the sender is still writing
            continue
    return messages


def _outbox_page(kind: str, messages: list[dict], title: str):
    from .services.realms import find_realm
    from .themes import render_page

    return render_page("demo_outbox.html", realm=find_realm(DEMO_REALM), kind=kind, messages=messages,
                       page_title=title, refresh_url=url_for(f"demo.{'outbox' if kind == 'sms' else 'mail'}"),
                       demo_url=url_for("demo.home"))


@demo_bp.get("/outbox")
def outbox():
    """The last SMS messages from the development outbox, so a newcomer can read the code."""
    from .i18n import _

    settings = current_app.extensions["idp.settings"]
    messages = _last_lines(Path(current_app.instance_path) / settings.sms.outbox_file, 10)
    return _outbox_page("sms", messages, _("Text messages"))


@demo_bp.get("/mail")
def mail():
    """The last mails of the development mail outbox (``[mail] backend = "outbox"``), so a
    newcomer who registers can open the verification link."""
    from .i18n import _

    settings = current_app.extensions["idp.settings"]
    mails = _last_lines(Path(current_app.instance_path) / settings.mail.outbox_file, 5)
    return _outbox_page("mail", mails, _("Mail"))
