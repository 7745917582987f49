"""Test helpers: factories that use the real services, and a small form-submitting browser."""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urljoin, urlsplit

FAST_ARGON2 = (1, 1024, 1)
PASSWORD = "correct horse battery"


class Factory:
    """Create realms, clients and users through the same services the CLI uses."""

    def __init__(self, app):
        self.app = app

    def realm(self, name="acme", **settings):
        from idp.extensions import db
        from idp.services.realms import create_realm, find_realm, update_realm

        realm = find_realm(name) or create_realm(name)
        if settings:
            update_realm(realm, **settings)
        db.session.commit()
        return realm

    def client(self, realm, *, redirect_uri="http://127.0.0.1:9999/callback", public=False, **kwargs):
        from idp.extensions import db
        from idp.services.clients import create_client

        kwargs.setdefault("name", "Test App")
        client, secret = create_client(realm, redirect_uris=[redirect_uri], public=public, **kwargs)
        db.session.commit()
        return client.client_id, secret

    def user(self, realm, email="alice@example.com", password=PASSWORD, **kwargs):
        from idp.extensions import db
        from idp.services.users import create_user

        user = create_user(realm, email=email, password=password, **kwargs)
        db.session.commit()
        return user

    def sms_integration(self, realm, name="outbox", kind="outbox", active=True, **kwargs):
        from idp.extensions import db
        from idp.services.sms_integrations import add_integration

        row = add_integration(realm, kind=kind, name=name, active=active, **kwargs)
        db.session.commit()
        return row


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
FORM_ACTION_RE = re.compile(r'<form[^>]*action="([^"]*)"', re.S)


def csrf_token(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "no csrf_token on the page"
    return html.unescape(match.group(1) or match.group(2))


def form_action(page: str, index: int = 0) -> str:
    actions = FORM_ACTION_RE.findall(page)
    return html.unescape(actions[index])


def query_params(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def absolute(base: str, location: str) -> str:
    return urljoin(base, location)


def outbox_messages(instance_path) -> list[dict]:
    import json
    from pathlib import Path

    path = Path(instance_path) / "sms-outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def last_sms_code(instance_path, to: str | None = None) -> str:
    import re

    for message in reversed(outbox_messages(instance_path)):
        if to is None or message["to"] == to:
            return re.search(r"\b(\d{6})\b", message["body"]).group(1)
    raise AssertionError("no SMS in the outbox")


# --- second factors, set up through the factors' own code ---------------------------------------

def begin_totp_enrolment(user, name=None):
    """A pending authenticator app for ``user`` and its secret (``idp.mfa.totp``)."""
    from idp.mfa.registry import get_factor
    from idp.mfa.totp.factor import credential_secret

    device = get_factor("totp").begin_enrolment(user, {"name": name} if name else {})
    return device, credential_secret(device)


def activate_totp(user, device, code) -> bool:
    """Complete the pending app's enrolment with ``code`` (``flows.complete_enrolment``)."""
    from idp.mfa import flows

    try:
        flows.complete_enrolment(device, {"code": code}, by="user")
    except (flows.WrongResponse, flows.EnrolmentExpired):
        return False
    return True


def generate_recovery_codes(user) -> list[str]:
    from idp.mfa import flows

    return flows.issue_backup_codes(user)


def active_devices(user):
    from idp.mfa import flows

    return flows.credentials_of(user, kind="totp")


def remove_device(user, device):
    from idp.mfa import flows

    flows.remove(device, by="user")


def use_recovery_code(user, code) -> bool:
    from idp.mfa.base import Challenge
    from idp.mfa.registry import get_factor

    return get_factor("recovery").verify(Challenge(user.realm, user, "test"), {"code": code}) is not None


def verify_totp(user, code):
    from idp.mfa.base import Challenge
    from idp.mfa.registry import get_factor

    return get_factor("totp").verify(Challenge(user.realm, user, "test"), {"code": code})


def refresh_grant_hook(app, hook_type: str, hook):
    """A context manager: while it lasts, every refresh grant the app's authorization server
    creates runs ``hook`` at Authlib's ``hook_type`` (through the extensions registered with the
    grant, which Authlib applies to each grant it creates). ``before_create_token_response``
    runs after the grant read and judged the presented token and before it is spent;
    ``after_create_token_response`` once the rotation is committed."""
    import contextlib

    @contextlib.contextmanager
    def hooked():
        server = app.extensions["idp.authorization_server"]
        extensions = next(extensions for grant_class, extensions in server._token_grants
                          if grant_class.GRANT_TYPE == "refresh_token")

        def extension(grant):
            grant.register_hook(hook_type, lambda _grant, *_args: hook())

        extensions.append(extension)
        try:
            yield
        finally:
            extensions.remove(extension)

    return hooked()
