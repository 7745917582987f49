"""Logging in through an upstream provider (a second idp instance), which skips our MFA."""
from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pytest
import requests

from ..flows import HostedLogin, id_token_claims
from ..helpers import PASSWORD, csrf_token, query_params
from .conftest import link_as_before


def start_federated_login(client, factory, realm, upstream, email="bob@corp.example"):
    """Begin a login at the app, click the provider button, log in upstream; returns the
    hosted-login driver and the upstream's redirect back to us."""
    client_id, secret = factory.client(realm)
    login = HostedLogin(client, "acme", client_id, secret)
    login.authorize()
    assert "Continue with Corp SSO" in login.page
    start_url = f"/realms/acme/login/{login.page_url.rsplit('/', 1)[-1]}/social/corp"
    to_upstream = client.get(start_url)
    assert to_upstream.status_code == 302
    assert to_upstream.location.startswith(f"{upstream.issuer}/authorize")
    browser = requests.Session()
    page = browser.get(to_upstream.location)
    assert page.status_code == 200
    back = browser.post(page.url, data={"csrf_token": csrf_token(page.text), "email": email, "password": PASSWORD},
                        allow_redirects=False)
    assert back.status_code == 302, back.text
    assert back.headers["Location"].startswith("http://localhost/realms/acme/social/callback")
    return login, back.headers["Location"]


def return_from_upstream(login, location):
    parts = urlsplit(location)
    return login._follow(login.http.get(parts.path, query_string=parts.query))


def test_user_with_mfa_logs_in_through_a_linked_upstream_without_mfa_prompt(client, factory, acme, upstream):
    """Skip mode, the default ("2FA is triggered only for password logins"); the upstream's own
    ``amr ["pwd"]`` is not ours: a federated login says ``["fed"]``."""
    from idp.extensions import db
    from idp.mfa.sms import admin_set_phone
    from idp.services.mfa_users import admin_set_mfa

    local = factory.user(acme, email="bob@corp.example", email_verified=True)
    admin_set_phone(local, "+14155550100")
    admin_set_mfa(local, True)
    db.session.commit()
    link_as_before(acme, local, upstream, "bob@corp.example")
    login, location = start_federated_login(client, factory, acme, upstream)
    return_from_upstream(login, location)
    assert login.redirected_to_app, login.page
    claims = id_token_claims(login.exchange_code())
    assert claims["sub"] == local.id
    assert claims["amr"] == ["fed"]
    assert claims["acr"] == "urn:idp:acr:sfa"


def test_first_federated_login_creates_a_linked_account(client, factory, acme, upstream):
    from idp.models import User
    from idp.social.linking import identities_of

    login, location = start_federated_login(client, factory, acme, upstream)
    return_from_upstream(login, location)
    claims = id_token_claims(login.exchange_code())
    user = User.query.filter_by(email="bob@corp.example").one()
    assert claims["sub"] == user.id and user.email_verified and user.password_hash is None
    assert [i.provider.name for i in identities_of(user)] == ["corp"]


def test_unverified_local_email_must_link_with_password(client, factory, acme, upstream):
    from idp.social.linking import identities_of

    local = factory.user(acme, email="bob@corp.example", email_verified=False)
    login, location = start_federated_login(client, factory, acme, upstream)
    return_from_upstream(login, location)
    assert not login.redirected_to_app
    assert "Log in with its password once to link" in login.page
    assert identities_of(local) == []
    login.log_in("bob@corp.example", PASSWORD)
    assert login.redirected_to_app
    assert [i.provider.name for i in identities_of(local)] == ["corp"]


def test_unverified_upstream_email_is_proven_by_mail_first(client, factory, acme, upstream):
    from idp.social.linking import identities_of

    local = factory.user(acme, email="eve@corp.example", email_verified=True)
    login, location = start_federated_login(client, factory, acme, upstream, email="eve@corp.example")
    return_from_upstream(login, location)
    assert not login.redirected_to_app
    assert "Check your inbox" in login.page
    assert identities_of(local) == []


def test_tampered_state_is_refused_and_the_login_can_be_retried(client, factory, acme, upstream):
    login, location = start_federated_login(client, factory, acme, upstream)
    params = query_params(location)
    tampered = location.replace(params["state"], params["state"][:-4] + "AAAA")
    return_from_upstream(login, tampered)
    assert "did not match this login" in login.page
    assert "Continue with Corp SSO" in login.page


def _set_social_state(login, **changes):
    from idp.extensions import db
    from idp.models import LoginTransaction

    txn = db.session.get(LoginTransaction, login.page_url.split("/login/")[1].split("/")[0])
    state = dict(txn.stage_state)
    state["social"] = {**state["social"], **changes}
    txn.stage_state = state
    db.session.commit()


def test_nonce_mismatch_is_refused(client, factory, acme, upstream):
    login, location = start_federated_login(client, factory, acme, upstream)
    _set_social_state(login, nonce="not-the-nonce-we-sent")
    return_from_upstream(login, location)
    assert not login.redirected_to_app
    assert "We could not verify your Corp SSO login" in login.page


def test_tampered_id_token_signature_is_refused(client, factory, acme, upstream, monkeypatch):
    from idp.social.upstream import UpstreamClient

    original = UpstreamClient.fetch_access_token

    def tampering_fetch(self, *args, **kwargs):
        token = original(self, *args, **kwargs)
        header, payload, signature = token["id_token"].split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["email"] = "admin@acme.example"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token["id_token"] = f"{header}.{forged}.{signature}"
        return token

    monkeypatch.setattr(UpstreamClient, "fetch_access_token", tampering_fetch)
    login, location = start_federated_login(client, factory, acme, upstream)
    return_from_upstream(login, location)
    assert not login.redirected_to_app
    assert "We could not verify your Corp SSO login" in login.page


def test_upstream_announcing_another_issuer_is_refused(client, factory, acme, upstream):
    """Configured as localhost, the upstream's discovery document names 127.0.0.1 as issuer."""
    from idp.extensions import db
    from idp.social.providers import get_provider

    get_provider(acme, "corp").issuer = upstream.issuer.replace("127.0.0.1", "localhost")
    db.session.commit()
    login, location = start_federated_login(client, factory, acme, upstream)
    return_from_upstream(login, location)
    assert not login.redirected_to_app
    assert "announced a different issuer" in login.page


def test_user_cancelling_upstream_returns_to_login_with_message(client, factory, acme, upstream):
    login, location = start_federated_login(client, factory, acme, upstream)
    params = query_params(location)
    return_from_upstream(login, f"http://localhost/realms/acme/social/callback?error=access_denied&state={params['state']}")
    assert "You cancelled at Corp SSO" in login.page
    assert login.response.status_code == 200


def test_last_login_method_cannot_be_unlinked(client, factory, acme, upstream):
    from idp.services import ServiceError
    from idp.social.linking import identities_of, unlink_identity

    login, location = start_federated_login(client, factory, acme, upstream)
    return_from_upstream(login, location)
    from idp.models import User

    user = User.query.filter_by(email="bob@corp.example").one()
    with pytest.raises(ServiceError, match="only way you can log in"):
        unlink_identity(user, identities_of(user)[0])
