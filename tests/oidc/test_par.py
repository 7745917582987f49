"""Pushed Authorization Requests (RFC 9126): an app posts its authorization request to ``/par``
and sends the browser with only the ``request_uri`` it got back; a realm or a client may require
it. The request URI works once, for its own client, for a minute."""
from __future__ import annotations

import datetime as dt
import secrets

import pytest

from ..flows import REDIRECT_URI, HostedLogin, pkce_pair


@pytest.fixture
def shop(factory):
    realm = factory.realm("acme")
    factory.user(realm)
    client_id, secret = factory.client(realm, name="Shop")
    return client_id, secret


def _push(http, client_id, secret=None, **overrides):
    verifier, challenge = pkce_pair()
    data = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "scope": "openid email",
            "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
            "code_challenge_method": "S256", **overrides}
    data = {k: v for k, v in data.items() if v is not None}
    response = http.post("/realms/acme/par", data=data, auth=(client_id, secret) if secret else None)
    return response, verifier, data


def _browser(app, client_id, secret=None, verifier=None):
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.verifier = verifier
    return login


def test_an_app_pushes_its_request_and_the_browser_carries_only_the_request_uri(app, shop):
    client_id, secret = shop
    pushed, verifier, sent = _push(app.test_client(), client_id, secret)
    assert pushed.status_code == 201 and pushed.headers["Cache-Control"] == "no-store"
    body = pushed.get_json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:") and body["expires_in"] == 60

    login = _browser(app, client_id, secret, verifier)
    login.get(f"/realms/acme/authorize?client_id={client_id}&request_uri={body['request_uri']}"
              "&scope=openid+profile&redirect_uri=https://evil.example/cb")
    login.log_in()

    assert login.redirected_to_app, "the pushed redirect URI, not the one in the URL"
    assert login.callback_params()["state"] == sent["state"]
    tokens = login.exchange_code()
    assert tokens["scope"] == "openid email", "the pushed scope, not the one in the URL"


@pytest.mark.parametrize("how", ["replayed", "expired", "another_clients", "made_up"])
def test_a_request_uri_that_is_not_fresh_and_the_clients_own_is_an_error_page(app, factory, shop, how):
    from idp.extensions import db
    from idp.models import utcnow
    from idp.oidc.par import PushedAuthorizationRequest

    client_id, secret = shop
    request_uri = _push(app.test_client(), client_id, secret)[0].get_json()["request_uri"]
    asking_client = client_id
    if how == "replayed":
        _browser(app, client_id).get(f"/realms/acme/authorize?client_id={client_id}&request_uri={request_uri}")
    elif how == "expired":
        with app.app_context():
            db.session.execute(db.update(PushedAuthorizationRequest).values(
                expires_at=utcnow() - dt.timedelta(seconds=1)))
            db.session.commit()
    elif how == "another_clients":
        with app.app_context():
            from idp.services.realms import find_realm

            asking_client = factory.client(find_realm("acme"), name="Other")[0]
    else:
        request_uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(32)

    login = _browser(app, asking_client)
    response = login.get(f"/realms/acme/authorize?client_id={asking_client}&request_uri={request_uri}")

    assert response.status_code == 400 and "This login link has expired" in login.page


@pytest.mark.parametrize("overrides, auth, status, error", [
    ({}, "none", 401, "invalid_client"),
    ({}, "wrong", 401, "invalid_client"),
    ({"redirect_uri": "https://elsewhere.example/cb"}, "ok", 400, "invalid_request"),
    ({"code_challenge": None, "code_challenge_method": None, "response_type": "token"}, "ok", 400,
     "unsupported_response_type"),
    ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "ok", 400, "invalid_request"),
    ({"code_challenge_method": "plain"}, "ok", 400, "invalid_request"),
    ({"state": "x" * 3000}, "ok", 400, "invalid_request"),
])
def test_a_bad_push_is_refused_before_anything_is_stored(app, shop, overrides, auth, status, error):
    from idp.extensions import db
    from idp.oidc.par import PushedAuthorizationRequest

    client_id, secret = shop
    http = app.test_client()
    if auth == "ok":
        response = _push(http, client_id, secret, **overrides)[0]
    elif auth == "wrong":
        response = _push(http, client_id, "not-the-secret", **overrides)[0]
    else:
        response = _push(http, client_id, None, **overrides)[0]

    assert (response.status_code, response.get_json()["error"]) == (status, error)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PushedAuthorizationRequest)) == 0


def test_a_public_client_pushes_with_its_client_id_and_pkce(app, factory, shop):
    with app.app_context():
        from idp.services.realms import find_realm

        spa_id, _ = factory.client(find_realm("acme"), name="SPA", public=True)
    pushed, verifier, _sent = _push(app.test_client(), spa_id, None)
    assert pushed.status_code == 201

    login = _browser(app, spa_id, None, verifier)
    login.get(f"/realms/acme/authorize?client_id={spa_id}&request_uri={pushed.get_json()['request_uri']}")
    login.log_in()

    assert login.exchange_code()["access_token"]


@pytest.mark.parametrize("where", ["client", "realm"])
def test_when_par_is_required_a_plain_authorization_request_is_refused(app, runner, shop, where):
    client_id, secret = shop
    if where == "client":
        assert runner("clients", "set", client_id, "--realm", "acme", "--require-par", "on").exit_code == 0
    else:
        assert runner("realms", "set", "acme", "--require-par", "on").exit_code == 0

    plain = HostedLogin(app.test_client(), "acme", client_id, secret)
    plain.authorize()
    assert plain.redirected_to_app
    assert plain.callback_params()["error"] == "invalid_request"
    assert "push" in plain.callback_params()["error_description"]

    pushed, verifier, _sent = _push(app.test_client(), client_id, secret)
    login = _browser(app, client_id, secret, verifier)
    login.get(f"/realms/acme/authorize?client_id={client_id}&request_uri={pushed.get_json()['request_uri']}")
    login.log_in()
    assert login.exchange_code()["access_token"]
    metadata = app.test_client().get("/realms/acme/.well-known/openid-configuration").get_json()
    assert metadata["pushed_authorization_request_endpoint"] == "http://localhost/realms/acme/par"
    assert metadata["require_pushed_authorization_requests"] is (where == "realm")


def test_pushed_requests_expire_and_are_purged(app, shop):
    from idp.extensions import db
    from idp.models import utcnow
    from idp.oidc.par import PushedAuthorizationRequest
    from idp.services.purge import purge_expired

    client_id, secret = shop
    _push(app.test_client(), client_id, secret)
    with app.app_context():
        db.session.execute(db.update(PushedAuthorizationRequest).values(expires_at=utcnow() - dt.timedelta(hours=1)))
        db.session.commit()
        assert purge_expired(app.extensions["idp.settings"])["pushed_authorization_requests"] == 1
