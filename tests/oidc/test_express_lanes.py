"""The express lanes (``idp.oidc.express``) answer the hot machine requests before Flask, and
answer them exactly as Flask's views do: each request here goes to two instances on one
database, one with the lanes and one without, and the answers must match (status, JSON body with
a token's time-dependent fields set aside, and the headers a client or browser acts on). Each
case also says which instance's Flask ran: the lane must take what it claims to take, and hand
everything else on."""
from __future__ import annotations

import base64
import json

import pytest

from ..flows import signed_in_with_tokens

REALM = "express"
REDIRECT_URI = "http://127.0.0.1:9999/callback"
EMAIL = "alice@example.com"
PUBLIC_URL = "http://localhost"  # the test client's host
#: Headers that may differ: when, and the page CSP's per-response nonce (a lane's JSON answer has
#: the stricter ``default-src 'none'``).
VARYING_HEADERS = {"date", "content-security-policy", "content-length"}
TIME_DEPENDENT_CLAIMS = {"iat", "exp", "jti", "auth_time", "sid"}  # and the login's session


class Instance:
    """An app on the shared database that counts the requests its Flask app saw."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self.flask_requests = 0
        inner = app.wsgi_app
        lanes = getattr(inner, "wsgi_app", None) if type(inner).__name__ == "ExpressLanes" else None
        if lanes is not None:
            def counting(environ, start_response, flask_app=lanes):
                self.flask_requests += 1
                return flask_app(environ, start_response)

            inner.wsgi_app = counting

    def send(self, method, path, **kwargs):
        before = self.flask_requests
        response = self.http.open(f"/realms/{REALM}/{path}", method=method, **kwargs)
        return response, self.flask_requests > before


@pytest.fixture
def setup(runner):
    from .conftest import realm_with_machine_and_shop

    return realm_with_machine_and_shop(runner, REALM, REDIRECT_URI, EMAIL)


@pytest.fixture
def pair(make_app, setup):
    express = Instance(make_app(public_url=PUBLIC_URL))
    flask_only = Instance(make_app(public_url=PUBLIC_URL, server={"express_lanes": False}))
    assert type(express.app.wsgi_app).__name__ == "ExpressLanes"
    assert type(flask_only.app.wsgi_app).__name__ != "ExpressLanes"
    return express, flask_only


def _claims(jwt_string: str) -> dict:
    payload = jwt_string.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {name: value for name, value in claims.items() if name not in TIME_DEPENDENT_CLAIMS}


def _comparable(response) -> dict:
    body = response.get_data(as_text=True)
    try:
        document = json.loads(body)
    except ValueError:
        document = body
    if isinstance(document, dict):
        document = {name: (_claims(value) if name in ("access_token", "id_token") else value)
                    for name, value in document.items()
                    if name not in TIME_DEPENDENT_CLAIMS and name != "refresh_token"}
    headers = {name.lower(): value for name, value in response.headers.items()
               if name.lower() not in VARYING_HEADERS}
    return {"status": response.status_code, "body": document, "headers": headers}


def both(pair, method, path, *, lane_answers: bool, **kwargs):
    """Send the request to both instances; their answers must match. ``lane_answers``: whether
    the express instance's lane answered (its Flask app never saw the request)."""
    express, flask_only = pair
    answered, express_flask_ran = express.send(method, path, **kwargs)
    expected, _ = flask_only.send(method, path, **kwargs)
    assert _comparable(answered) == _comparable(expected)
    assert express_flask_ran is not lane_answers, f"{method} {path}: the lane {'did not answer' if lane_answers else 'answered'}"
    return answered


def basic(client) -> dict:
    client_id, secret = client
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_client_credentials_answers_match(pair, setup):
    machine_id, machine_secret = setup["machine"]
    cc = {"grant_type": "client_credentials"}
    token = both(pair, "POST", "token", lane_answers=True, data=cc, headers=basic(setup["machine"]))
    assert token.status_code == 200 and token.get_json()["token_type"] == "Bearer"
    both(pair, "POST", "token", lane_answers=True,
         data={**cc, "client_id": machine_id, "client_secret": machine_secret})
    both(pair, "POST", "token", lane_answers=True, data={**cc, "scope": "openid"}, headers=basic(setup["machine"]))
    # refusals are the same server's, answered by the lane too
    both(pair, "POST", "token", lane_answers=True, data=cc, headers=basic((machine_id, "wrong")))
    both(pair, "POST", "token", lane_answers=True, data=cc, headers=basic(("nobody", "wrong")))
    both(pair, "POST", "token", lane_answers=True, data=cc, headers=basic(setup["shop"]))
    both(pair, "POST", "token", lane_answers=True, data={**cc, "scope": "no-such-scope"},
         headers=basic(setup["machine"]))
    both(pair, "POST", "token", lane_answers=True, data={"grant_type": "client_credentials", "client_id": machine_id})


def _machine_client(runner, name: str, *options: str) -> tuple[str, str]:
    created = json.loads(runner("clients", "create", "--realm", REALM, "--name", name, "--client-credentials",
                                *options, "--json").stdout)
    return created["client_id"], created["client_secret"]


def test_a_plain_client_credentials_grant_skips_authlibs_dispatch_and_every_other_request_takes_it(
        pair, setup, runner, monkeypatch):
    """The lane grants a plain client_credentials request itself
    (``ClientCredentialsGrant.answer_plain_request``); anything it would not grant, or is not
    sure of, goes through Authlib's ``create_token_response``. Either way the answer is the one
    Flask gives (``both``)."""
    machine_id, machine_secret = setup["machine"]
    post_client = _machine_client(runner, "Form machine", "--auth-method", "client_secret_post")
    bound_client = _machine_client(runner, "Bound machine", "--dpop-required", "on")
    express, _ = pair
    server = express.app.extensions["idp.authorization_server"]
    dispatched = []
    dispatch = server.create_token_response
    monkeypatch.setattr(server, "create_token_response",
                        lambda request=None: dispatched.append(request) or dispatch(request))
    cc = {"grant_type": "client_credentials"}
    form_credentials = {"client_id": machine_id, "client_secret": machine_secret}
    #: (answered by the lane's own grant, 200 or 400 for a refusal (400 or 401, as Flask answers), request)
    cases = [
        (True, 200, {"data": cc, "headers": basic(setup["machine"])}),
        (True, 200, {"data": {**cc, **form_credentials}}),
        (True, 200, {"data": {**cc, "scope": "openid email"}, "headers": basic(setup["machine"])}),
        (True, 200, {"data": {**cc, "scope": "email admin payments:write"}, "headers": basic(setup["machine"])}),
        (True, 200, {"data": {**cc, "scope": ""}, "headers": basic(setup["machine"])}),
        (True, 200, {"data": {**cc, "client_id": post_client[0], "client_secret": post_client[1]}}),
        (True, 200, {"data": cc, "headers": basic(post_client)}),
        # refusals
        (False, 400, {"data": cc, "headers": basic((machine_id, "wrong"))}),
        (False, 400, {"data": {**cc, "client_id": machine_id, "client_secret": "wrong"}}),
        (False, 400, {"data": cc, "headers": basic(("nobody", machine_secret))}),
        (False, 400, {"data": cc, "headers": basic(setup["shop"])}),
        (False, 400, {"data": cc, "headers": basic(bound_client)}),
        (False, 400, {"data": {**cc, "client_id": machine_id}}),
        (False, 400, {"data": cc}),
        (False, 400, {"data": cc, "headers": {"Authorization": "Basic " + base64.b64encode(machine_id.encode()).decode()}}),
        # credentials twice, or beside another Authorization header: Authlib's order of methods
        (False, 200, {"data": {**cc, **form_credentials}, "headers": basic(setup["machine"])}),
        (False, 200, {"data": {**cc, **form_credentials}, "headers": basic((machine_id, "wrong"))}),
        (False, 200, {"data": {**cc, "client_id": machine_id}, "headers": basic(setup["machine"])}),
        (False, 200, {"data": {**cc, **form_credentials}, "headers": {"Authorization": "Bearer something"}}),
        (False, 200, {"data": {**cc, **form_credentials}, "headers": {"Authorization": "Basic !!!"}}),
    ]
    for plain, status, request in cases:
        dispatched.clear()
        answer = both(pair, "POST", "token", lane_answers=True, **request)
        assert (not dispatched) is plain, (plain, request, answer.get_json())
        assert answer.status_code // 100 * 100 == status, (request, answer.get_json())
        if status == 200:
            assert answer.get_json()["token_type"] == "Bearer"
            assert answer.headers["Cache-Control"] == "no-store"


def _caches_on(app, *, after: int | None = None) -> None:
    """Wait until the app's lookup cache serves (on PostgreSQL, once its listener is up), and
    has taken in a change made since it was at generation ``after``."""
    import time

    deadline = time.monotonic() + 10
    while app.extensions["idp.lookup_cache"].current_generation() in (None, after):
        assert time.monotonic() < deadline, "the lookup cache never came on"
        time.sleep(0.02)


def test_a_machine_clients_repeated_request_is_answered_prepared_until_what_it_was_made_from_changes(
        pair, setup, runner, monkeypatch):
    """The second plain request of a client, method and scope is answered from the first one's
    prepared answer (``idp.oidc.express.prepared``): no grant runs, the answer is still Flask's,
    and its token a new one (its own ``jti``, ``iat``, ``exp``, signature), verifiable with the
    realm's keys. A wrong secret, another scope, a change to the realm, an expired client or
    caches that cannot promise freshness each send the request the long way."""
    from idp.oidc.express import prepared as prepared_module
    from idp.oidc.grants.client_credentials import ClientCredentialsGrant
    from idp.services.keys import verify_jwt
    from idp.services.realms import get_realm

    express, _ = pair
    _caches_on(express.app)
    granted = []
    grant = ClientCredentialsGrant.answer_plain_request.__func__
    monkeypatch.setattr(ClientCredentialsGrant, "answer_plain_request",
                        classmethod(lambda cls, server, request: granted.append(request) or grant(cls, server, request)))
    machine_id, machine_secret = setup["machine"]
    cc = {"grant_type": "client_credentials"}

    def token_request(expect_granted: bool, **request):
        """The answer, granted by the grant or answered prepared as expected. On PostgreSQL a
        change's notification reaches the listener a moment after the commit and makes what was
        prepared meanwhile stale: a prepared answer may take a few requests to appear."""
        import time

        from .. import databases

        deadline = time.monotonic() + 3
        while True:
            before = len(granted)
            answer = both(pair, "POST", "token", lane_answers=True, **request)
            if (len(granted) > before) is expect_granted:
                return answer
            assert not expect_granted and databases.postgres_mode() and time.monotonic() < deadline, request
            time.sleep(0.02)

    first = token_request(True, data=cc, headers=basic(setup["machine"]))
    again = token_request(False, data=cc, headers=basic(setup["machine"]))
    assert again.status_code == 200 and again.get_json()["expires_in"] == first.get_json()["expires_in"]
    with express.app.app_context():
        realm = get_realm(REALM)
        settings = express.app.extensions["idp.settings"]
        first_claims = verify_jwt(realm, settings, first.get_json()["access_token"]).claims
        again_token = verify_jwt(realm, settings, again.get_json()["access_token"])
    assert again_token.header["typ"] == "at+jwt"
    assert again_token.claims["jti"] != first_claims["jti"]
    assert again_token.claims["exp"] - again_token.claims["iat"] == again.get_json()["expires_in"]
    assert {k: v for k, v in again_token.claims.items() if k not in ("iat", "exp", "jti")} == \
        {k: v for k, v in first_claims.items() if k not in ("iat", "exp", "jti")}

    # each shape is prepared apart: the form's credentials, another scope
    form = {**cc, "client_id": machine_id, "client_secret": machine_secret}
    token_request(True, data=form)
    token_request(False, data=form)
    token_request(True, data={**cc, "scope": "openid"}, headers=basic(setup["machine"]))
    assert token_request(False, data={**cc, "scope": "openid"}, headers=basic(setup["machine"])).get_json()["scope"] == \
        both(pair, "POST", "token", lane_answers=True, data={**cc, "scope": "openid"},
             headers=basic(setup["machine"])).get_json()["scope"]
    # a wrong secret is never answered from the prepared answer: the usual refusal
    refused = token_request(True, data=cc, headers=basic((machine_id, machine_secret + "x")))
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    token_request(False, data=cc, headers=basic(setup["machine"]))

    # a change to the realm: the next answer is made afresh, with it (once the change reached
    # this process: on PostgreSQL its notification comes a moment after the commit)
    cache = express.app.extensions["idp.lookup_cache"]
    before = cache.current_generation()
    assert runner("realms", "set", REALM, "--access-token-lifetime", "321").exit_code == 0
    _caches_on(express.app, after=before)
    assert token_request(True, data=cc, headers=basic(setup["machine"])).get_json()["expires_in"] == 321
    assert token_request(False, data=cc, headers=basic(setup["machine"])).get_json()["expires_in"] == 321

    # a client that expires is answered prepared only until it does
    import datetime as dt
    import time as real_time

    from idp.extensions import db
    from idp.models import Client

    with express.app.app_context():
        client = db.session.scalar(db.select(Client).filter_by(client_id=machine_id))
        client.expires_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        db.session.commit()
    _caches_on(express.app)
    token_request(True, data=cc, headers=basic(setup["machine"]))
    token_request(False, data=cc, headers=basic(setup["machine"]))
    later = real_time.time() + 2 * 3600
    monkeypatch.setattr(prepared_module, "time", type("Clock", (), {"time": staticmethod(lambda: later)}))
    token_request(True, data=cc, headers=basic(setup["machine"]))
    monkeypatch.undo()  # (the grant's counter too: from here on nothing is counted)

    # caches off (PostgreSQL's listener down): nothing is answered prepared
    answered = []
    answer = express.app.wsgi_app.prepared.answer
    monkeypatch.setattr(express.app.wsgi_app.prepared, "answer",
                        lambda request: answered.append(answer(request)) or answered[-1])
    express.app.extensions["idp.lookup_cache"].enabled = False
    both(pair, "POST", "token", lane_answers=True, data=cc, headers=basic(setup["machine"]))
    both(pair, "POST", "token", lane_answers=True, data=cc, headers=basic(setup["machine"]))
    assert answered == [None, None]


def test_prepared_answers_are_bounded_and_one_client_cannot_push_out_the_others(pair, setup, runner,
                                                                                 monkeypatch):
    """An authenticated client chooses its ``scope`` strings and the ``Host`` it sends: only the
    public address's token URL and short scopes are kept, a few per client, the oldest making
    way, so one client's variety never pushes out another's answer."""
    from idp.oidc.express import prepared as prepared_module

    express, _ = pair
    _caches_on(express.app)
    monkeypatch.setattr(prepared_module, "MAX_PER_CLIENT", 2)
    monkeypatch.setattr(prepared_module, "MAX_PREPARED", 3)
    prepared = express.app.wsgi_app.prepared
    other = _machine_client(runner, "Other machine")
    _caches_on(express.app, after=None)

    def ask(client, scope, **kwargs):
        answer = express.http.post(f"/realms/{REALM}/token", headers=basic(client),
                                   data={"grant_type": "client_credentials", "scope": scope}, **kwargs)
        assert answer.status_code == 200, answer.get_json()
        return answer

    def kept_scopes(client):
        return [key[3] for key in prepared._prepared if key[2] == client[0]]

    ask(other, "openid")
    # the machine client tries many scopes: it keeps its last two, and the other client's stays
    for scope in ("openid", "email", "profile", "openid email", "email profile"):
        ask(setup["machine"], scope)
        assert len(kept_scopes(setup["machine"])) <= 2
        assert len(prepared._prepared) <= 3
    assert kept_scopes(setup["machine"]) == ["openid email", "email profile"]
    assert kept_scopes(other) == ["openid"]

    # another port of the public host, or a long scope: answered, not kept
    before = dict(prepared._prepared)
    ask(setup["machine"], "email", base_url="http://localhost:8080")
    ask(setup["machine"], " ".join(["openid"] * 60))
    assert prepared._prepared.keys() == before.keys()


@pytest.mark.parametrize("path, data", [
    ("token", {"grant_type": "client_credentials"}),
    ("token", {"grant_type": "refresh_token", "refresh_token": "rt_nothing"}),
    ("introspect", {"token": "abc"}),
    ("revoke", {"token": "abc"}),
])
def test_basic_credentials_that_are_not_utf8_are_wrong_credentials_not_a_500(pair, setup, caplog, path, data):
    """Authlib's ``client_secret_basic`` raised on them (a 500 from Flask and lane alike); they
    are refused as wrong credentials are, by the lane too, and no lane logs a failure."""
    express, _ = pair
    _caches_on(express.app)
    assert express.http.post(f"/realms/{REALM}/token", headers=basic(setup["machine"]),
                             data={"grant_type": "client_credentials"}).status_code == 200
    odd = {"Authorization": "Basic " + base64.b64encode(setup["machine"][0].encode() + b":\xff\xfe").decode()}
    with caplog.at_level("WARNING", logger="idp.oidc.express"):
        answer = both(pair, "POST", path, lane_answers=path != "revoke", data=data, headers=odd)
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"
    assert not [record for record in caplog.records if record.name.startswith("idp.oidc.express")]


def test_a_receiver_of_authlibs_client_authenticated_signal_sends_every_request_through_authlib(pair, setup,
                                                                                               monkeypatch):
    """The lane's own grant skips Authlib's dispatch only while nothing runs around the grant:
    once someone listens to ``client_authenticated``, Authlib answers and the listener hears."""
    from authlib.integrations.flask_oauth2.signals import client_authenticated

    express, _ = pair
    server = express.app.extensions["idp.authorization_server"]
    dispatched, heard = [], []
    dispatch = server.create_token_response
    monkeypatch.setattr(server, "create_token_response",
                        lambda request=None: dispatched.append(request) or dispatch(request))

    def listener(sender, client=None, grant=None):
        heard.append(client.client_id)

    client_authenticated.connect(listener)
    try:
        answer = both(pair, "POST", "token", lane_answers=True, data={"grant_type": "client_credentials"},
                      headers=basic(setup["machine"]))
    finally:
        client_authenticated.disconnect(listener)
    assert answer.status_code == 200
    assert dispatched and heard == [setup["machine"][0]] * len(heard) and heard


@pytest.mark.parametrize("path", ["token", "introspect", "revoke", "par", "device_authorization"])
def test_oauth_over_plain_http_off_loopback_is_refused_with_authlibs_error_not_a_500(make_app, setup, path):
    """Authlib refuses OAuth over plain HTTP off loopback (``InsecureTransportError``), the case
    of a public URL that is ``http://`` on a real host. Flask answers its error (it was a 500),
    and the lane's own client_credentials grant does not answer in its place."""
    app = make_app(public_url="http://idp.example.com")
    answer = app.test_client().post(f"/realms/{REALM}/{path}", base_url="http://idp.example.com",
                                    data={"grant_type": "client_credentials", "token": "abc"},
                                    headers=basic(setup["machine"]))
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "insecure_transport"


def test_a_browser_sent_to_authorize_over_plain_http_off_loopback_gets_the_error_page(make_app, setup):
    """The same refusal at the authorization endpoint, where a browser arrives: a page, not a 500."""
    app = make_app(public_url="http://idp.example.com")
    page = app.test_client().get(f"/realms/{REALM}/authorize", base_url="http://idp.example.com", query_string={
        "response_type": "code", "client_id": setup["shop"][0], "redirect_uri": REDIRECT_URI, "scope": "openid"})
    assert page.status_code == 400
    assert page.mimetype == "text/html"
    assert "https" in page.get_data(as_text=True)


@pytest.mark.parametrize("odd", [
    {"data": "grant_type=client_credentials&grant_type=client_credentials"},
    {"data": "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com"},
    {"data": "grant_type=client_credentials&scope=%00"},
    {"data": b"grant_type=client_credentials&scope=\xff"},
    {"data": "grant_type=client_credentials", "content_type": "application/json"},
    {"data": "grant_type=client_credentials", "headers": {"DPoP": "not.a.proof"}},
    {"data": "grant_type=client_credentials", "headers": {"Origin": "https://elsewhere.example"}},
    {"data": "grant_type=client_credentials", "query_string": "grant_type=client_credentials"},
    {"data": "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=nope"},
    {"data": ""},
], ids=["repeated", "resource", "nul", "not-utf8", "json", "dpop", "origin", "query", "other-grant", "empty"])
def test_requests_the_token_lane_does_not_judge_go_to_flask(pair, setup, odd):
    odd = dict(odd)
    headers = {**basic(setup["machine"]), **odd.pop("headers", {})}
    content_type = odd.pop("content_type", "application/x-www-form-urlencoded")
    both(pair, "POST", "token", lane_answers=False, headers=headers, content_type=content_type, **odd)


def test_a_nul_in_the_basic_credentials_is_flasks_to_refuse(pair, setup):
    machine_id, _ = setup["machine"]
    both(pair, "POST", "token", lane_answers=False, data={"grant_type": "client_credentials"},
         headers=basic((machine_id, "a\x00b")))


def test_an_unknown_realm_and_a_foreign_host_go_to_flask(pair, setup):
    express, flask_only = pair
    for instance in pair:
        response = instance.http.post("/realms/nowhere/token", data={"grant_type": "client_credentials"},
                                      headers=basic(setup["machine"]))
        assert response.status_code == 404
    before = express.flask_requests
    response = express.http.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"},
                                 headers={**basic(setup["machine"]), "Host": "evil.example"})
    assert response.status_code == 400 and express.flask_requests == before + 1

    # the lane remembers each host's verdict, for a bounded number of hosts
    for n in range(100):
        response = express.http.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"},
                                     headers={**basic(setup["machine"]), "Host": f"evil{n}.example"})
        assert response.status_code == 400
    assert express.flask_requests == before + 101
    lanes = express.app.wsgi_app
    while not hasattr(lanes, "_host_trusted"):
        lanes = lanes.wsgi_app
    assert len(lanes._host_trusted) <= 64
    response = express.http.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"},
                                 headers={**basic(setup["machine"]), "Host": "evil.example"})
    assert response.status_code == 400 and express.flask_requests == before + 102
    response = express.http.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"},
                                 headers=basic(setup["machine"]))
    assert response.status_code == 200 and express.flask_requests == before + 102


def test_userinfo_answers_match(pair, setup, runner):
    express, _ = pair
    _, tokens = signed_in_with_tokens(express.http, REALM, *setup["shop"])
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    claims = both(pair, "GET", "userinfo", lane_answers=True, headers=bearer)
    assert claims.status_code == 200 and claims.get_json()["email"] == EMAIL

    # what the lane would refuse, Flask refuses with its challenge
    both(pair, "GET", "userinfo", lane_answers=False, headers={"Authorization": "Bearer not-a-token"})
    both(pair, "GET", "userinfo", lane_answers=False)
    both(pair, "POST", "userinfo", lane_answers=False, headers=bearer)
    machine_token = express.http.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"},
                                      headers=basic(setup["machine"])).get_json()["access_token"]
    both(pair, "GET", "userinfo", lane_answers=False, headers={"Authorization": f"Bearer {machine_token}"})

    # roles are read through the ORM (the lane's second way), with the same answer
    from ..flows import HostedLogin
    from ..helpers import PASSWORD

    login = HostedLogin(express.app.test_client(), REALM, *setup["shop"])  # another browser
    login.authorize(scope="openid profile roles")
    login.log_in(EMAIL, PASSWORD)
    with_roles = login.exchange_code()
    assert "roles" in with_roles["scope"].split()
    roles = both(pair, "GET", "userinfo", lane_answers=True,
                 headers={"Authorization": f"Bearer {with_roles['access_token']}"})
    assert roles.get_json()["roles"] == [] and roles.get_json()["preferred_username"] == EMAIL

    assert runner("users", "set", EMAIL, "--realm", REALM, "--disabled", "on").exit_code == 0
    refused = both(pair, "GET", "userinfo", lane_answers=False, headers=bearer)
    assert refused.status_code == 401


def test_introspection_answers_match(pair, setup):
    express, _ = pair
    _, tokens = signed_in_with_tokens(express.http, REALM, *setup["shop"])
    shop = basic(setup["shop"])
    active = both(pair, "POST", "introspect", lane_answers=True, data={"token": tokens["access_token"]}, headers=shop)
    assert active.get_json()["active"] is True and active.get_json()["username"] == EMAIL
    both(pair, "POST", "introspect", lane_answers=True,
         data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}, headers=shop)
    # another client learns nothing; a wrong secret is refused
    inactive = both(pair, "POST", "introspect", lane_answers=True, data={"token": tokens["access_token"]},
                    headers=basic(setup["machine"]))
    assert inactive.get_json() == {"active": False}
    both(pair, "POST", "introspect", lane_answers=True, data={"token": tokens["access_token"]},
         headers=basic((setup["shop"][0], "wrong")))
    both(pair, "POST", "introspect", lane_answers=True, data={"token": "garbage"}, headers=shop)
    both(pair, "POST", "introspect", lane_answers=False, data={"token": tokens["access_token"], "extra": "1"},
         headers=shop)

    express.http.post(f"/realms/{REALM}/revoke", data={"token": tokens["access_token"]}, headers=shop)
    revoked = both(pair, "POST", "introspect", lane_answers=True, data={"token": tokens["access_token"]},
                   headers=shop)
    assert revoked.get_json() == {"active": False}


def test_a_plain_introspection_request_skips_authlibs_dispatch_and_every_other_request_takes_it(
        pair, setup, runner, monkeypatch):
    """A resource server's plain request is answered by the endpoint itself
    (``RealmIntrospectionEndpoint.answer_plain_request``); anything else goes through Authlib's
    ``create_endpoint_response``. Either way the answer is the one Flask gives (``both``)."""
    express, _ = pair
    _, tokens = signed_in_with_tokens(express.http, REALM, *setup["shop"])
    post_client = _machine_client(runner, "Form API", "--auth-method", "client_secret_post")
    public_client = json.loads(runner("clients", "create", "--realm", REALM, "--name", "SPA", "--public",
                                      "--redirect-uri", REDIRECT_URI, "--json").stdout)["client_id"]
    server = express.app.extensions["idp.authorization_server"]
    dispatched = []
    dispatch = server.create_endpoint_response
    monkeypatch.setattr(server, "create_endpoint_response",
                        lambda name, request=None: dispatched.append(request) or dispatch(name, request))
    shop_id, shop_secret = setup["shop"]
    access, refresh = {"token": tokens["access_token"]}, {"token": tokens["refresh_token"]}
    form_credentials = {"client_id": shop_id, "client_secret": shop_secret}
    #: (answered by the endpoint itself, status, whether the token is active, request)
    cases = [
        (True, 200, True, {"data": access, "headers": basic(setup["shop"])}),
        (True, 200, True, {"data": {**access, **form_credentials}}),
        (True, 200, True, {"data": {**access, "token_type_hint": "access_token"}, "headers": basic(setup["shop"])}),
        (True, 200, True, {"data": {**refresh, "token_type_hint": "refresh_token"}, "headers": basic(setup["shop"])}),
        (True, 200, True, {"data": refresh, "headers": basic(setup["shop"])}),
        # the hint is only a hint, a wrong or unknown one included (RFC 7662 §2.1)
        (True, 200, True, {"data": {**refresh, "token_type_hint": "access_token"}, "headers": basic(setup["shop"])}),
        (True, 200, True, {"data": {**access, "token_type_hint": "id_token"}, "headers": basic(setup["shop"])}),
        (True, 200, False, {"data": {"token": "garbage"}, "headers": basic(setup["shop"])}),
        # a client that is not the token's (nor its resource server) learns nothing
        (True, 200, False, {"data": access, "headers": basic(setup["machine"])}),
        (True, 200, False, {"data": {**access, "client_id": post_client[0], "client_secret": post_client[1]}}),
        (True, 200, False, {"data": access, "headers": basic(post_client)}),  # either secret method
        # refusals, and whatever the endpoint is not sure of
        (False, 401, None, {"data": access, "headers": basic((shop_id, "wrong"))}),
        (False, 401, None, {"data": {**access, "client_id": shop_id, "client_secret": "wrong"}}),
        (False, 401, None, {"data": access, "headers": basic(("nobody", shop_secret))}),
        (False, 401, None, {"data": access, "headers": basic((public_client, "anything"))}),
        (False, 401, None, {"data": {**access, "client_id": shop_id}}),
        (False, 401, None, {"data": access}),
        (False, 200, True, {"data": {**access, **form_credentials}, "headers": basic(setup["shop"])}),
        (False, 200, True, {"data": {**access, **form_credentials}, "headers": {"Authorization": "Bearer x"}}),
    ]
    for plain, status, active, request in cases:
        dispatched.clear()
        answer = both(pair, "POST", "introspect", lane_answers=True, **request)
        assert (not dispatched) is plain, (plain, request, answer.get_json())
        assert answer.status_code == status, (request, answer.get_json())
        assert answer.headers["Cache-Control"] == "no-store"
        if status == 200:
            assert answer.get_json()["active"] is active, (request, answer.get_json())


def test_refresh_answers_match(pair, setup):
    """Each instance refreshes its own rotation family (a refresh token is spent once), with the
    same outcomes: a new pair, a narrowed scope, a replayed token refused and its family revoked."""
    express, _ = pair
    outcomes = []
    for instance in pair:
        _, tokens = signed_in_with_tokens(instance.http, REALM, *setup["shop"])
        shop = basic(setup["shop"])
        refreshed, flask_ran = instance.send("POST", "token", headers=shop,
                                             data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        narrowed, _ = instance.send("POST", "token", headers=shop, data={
            "grant_type": "refresh_token", "refresh_token": refreshed.get_json()["refresh_token"],
            "scope": "openid offline_access"})
        replayed, _ = instance.send("POST", "token", headers=shop,
                                    data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        family_gone, _ = instance.send("POST", "token", headers=shop, data={
            "grant_type": "refresh_token", "refresh_token": narrowed.get_json()["refresh_token"]})
        outcomes.append([_comparable(response) for response in (refreshed, narrowed, replayed, family_gone)])
        if instance is express:
            assert not flask_ran, "the refresh lane did not answer"
    assert outcomes[0] == outcomes[1]
    assert [outcome["status"] for outcome in outcomes[0]] == [200, 200, 400, 400]
    # the replays were recorded with the caller's address on both paths
    with express.app.app_context():
        from idp.extensions import db
        from idp.models import AuditEvent

        reuses = db.session.scalars(db.select(AuditEvent).filter_by(event_type="oauth.refresh_token_reused")).all()
        assert len(reuses) == 2 and {event.ip_address for event in reuses} == {"127.0.0.1"}



def test_each_kind_of_refresh_request_gets_the_same_answer_from_the_lane_and_flask(pair, setup):
    """Each instance follows its own login's rotation (a refresh token works once): the same
    requests, one chain each, get the same answers, the lane answering the plain ones."""
    chains = [signed_in_with_tokens(instance.http, REALM, *setup["shop"])[1] for instance in pair]
    first = [tokens["refresh_token"] for tokens in chains]
    shop_id, shop_secret = setup["shop"]

    def comparable(response):
        answer = _comparable(response)
        if isinstance(answer["body"], dict) and "access_token" in answer["body"]:
            answer["body"]["access_token"].pop("sid", None)  # each login has its own session
        return answer

    def each(*, lane_answers, headers=None, token=lambda chain: chains[chain]["refresh_token"], **extra):
        answers = []
        for chain, instance in enumerate(pair):
            form = {"grant_type": "refresh_token", "refresh_token": token(chain), **extra}
            response, flask_ran = instance.send("POST", "token", data=form,
                                                headers=basic(setup["shop"]) if headers is None else headers)
            if response.status_code == 200 and "refresh_token" in response.get_json():
                chains[chain] = response.get_json()
            answers.append((response, flask_ran))
        (answered, express_flask_ran), (expected, _) = answers
        assert comparable(answered) == comparable(expected)
        assert express_flask_ran is not lane_answers
        return answered

    rotated = each(lane_answers=True)
    assert rotated.status_code == 200 and rotated.get_json()["refresh_token"] != first[0]
    each(lane_answers=True, headers={}, client_id=shop_id, client_secret=shop_secret)
    each(lane_answers=True, scope="openid email offline_access")
    # refusals are the server's own, from the lane too
    each(lane_answers=True, scope="openid profile")
    each(lane_answers=True, headers=basic((shop_id, "wrong")))
    each(lane_answers=True, token=lambda chain: "rt_unknown")
    each(lane_answers=True, headers=basic(setup["machine"]))
    # what the lane does not judge
    each(lane_answers=False, resource="https://api.example.com")
    each(lane_answers=False, headers={**basic(setup["shop"]), "DPoP": "not.a.proof"})
    # a reuse ends the family, in both
    reused = each(lane_answers=True, token=lambda chain: first[chain])
    assert (reused.status_code, reused.get_json()["error"]) == (400, "invalid_grant")
    ended = each(lane_answers=True)
    assert (ended.status_code, ended.get_json()["error"]) == (400, "invalid_grant")


def _expire_access_tokens(app) -> None:
    """The tokens' rows say they expired a minute ago (their JWTs do not: the row decides)."""
    import datetime as dt

    from idp.extensions import db
    from idp.models import IssuedToken, utcnow

    with app.app_context():
        db.session.execute(db.update(IssuedToken).values(access_expires_at=utcnow() - dt.timedelta(minutes=1)))
        db.session.commit()


def test_tokens_that_ended_get_the_same_answers_from_the_lanes_and_flask(pair, setup, runner):
    """An API introspecting an app's tokens, and the app calling userinfo, while the tokens end
    in each way they can: the lane reads their state each time, as Flask does."""
    import json

    express, _ = pair
    api = json.loads(runner("clients", "create", "--realm", REALM, "--name", "API", "--redirect-uri", REDIRECT_URI,
                            "--resource-server-for", setup["shop"][0], "--resource-server-for", setup["machine"][0],
                            "--json").stdout)
    api_auth = basic((api["client_id"], api["client_secret"]))

    def introspect(token, *, active):
        answer = both(pair, "POST", "introspect", lane_answers=True, data={"token": token}, headers=api_auth)
        assert answer.get_json()["active"] is active, answer.get_json()

    def userinfo(token, *, status):
        answer = both(pair, "GET", "userinfo", lane_answers=status == 200,
                      headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == status

    _, tokens = signed_in_with_tokens(express.http, REALM, *setup["shop"])
    machine_token = express.http.post(f"/realms/{REALM}/token", data={"grant_type": "client_credentials"},
                                      headers=basic(setup["machine"])).get_json()["access_token"]
    introspect(tokens["access_token"], active=True)
    introspect(machine_token, active=True)
    userinfo(tokens["access_token"], status=200)

    # a token of another realm, signed with that realm's keys
    other = realm_with_machine_and_shop_elsewhere(runner)
    foreign = express.http.post("/realms/elsewhere/token", data={"grant_type": "client_credentials"},
                                headers=basic(other["machine"])).get_json()["access_token"]
    introspect(foreign, active=False)
    userinfo(foreign, status=401)

    # expired
    _expire_access_tokens(express.app)
    introspect(tokens["access_token"], active=False)
    userinfo(tokens["access_token"], status=401)

    # the user deleted: their tokens go with them
    _, tokens = signed_in_with_tokens(express.app.test_client(), REALM, *setup["shop"])  # another browser
    introspect(tokens["access_token"], active=True)
    assert runner("users", "delete", EMAIL, "--realm", REALM).exit_code == 0
    introspect(tokens["access_token"], active=False)
    introspect(tokens["refresh_token"], active=False)
    userinfo(tokens["access_token"], status=401)

    # the client deleted: its client_credentials tokens end with it
    assert runner("clients", "delete", setup["machine"][0], "--realm", REALM).exit_code == 0
    introspect(machine_token, active=False)


def realm_with_machine_and_shop_elsewhere(runner) -> dict:
    from .conftest import realm_with_machine_and_shop

    return realm_with_machine_and_shop(runner, "elsewhere", REDIRECT_URI, "bob@example.com")


def test_each_kind_of_code_exchange_gets_the_same_answer_from_the_lane_and_flask(pair, setup):
    """Each instance's browser logs in to the shop (a code works once): the same exchanges, one
    code each, get the same answers; the lane answers the plain ones, refusals included, and a
    replayed code revokes what it issued on both paths, recorded with the caller's address."""
    from ..flows import HostedLogin

    express, _ = pair
    shop_id, shop_secret = setup["shop"]

    def log_in(instance):  # a new browser each time: a session would skip the login page
        login = HostedLogin(instance.app.test_client(), REALM, shop_id, shop_secret, redirect_uri=REDIRECT_URI)
        login.authorize(scope="openid email offline_access")
        login.log_in(EMAIL)
        return login

    def comparable(response):
        answer = _comparable(response)
        if isinstance(answer["body"], dict):
            for name in ("access_token", "id_token"):
                if isinstance(answer["body"].get(name), dict):
                    for differs in ("sid", "nonce", "at_hash"):  # each login's own
                        answer["body"][name].pop(differs, None)
        return answer

    def each(logins, *, lane_answers, headers=None, **changed):
        answers = []
        for login, instance in zip(logins, pair):
            form = {"grant_type": "authorization_code", "code": login.callback_params()["code"],
                    "redirect_uri": REDIRECT_URI, "code_verifier": login.verifier, **changed}
            form = {name: value for name, value in form.items() if value is not None}
            answers.append(instance.send("POST", "token", data=form,
                                         headers=basic(setup["shop"]) if headers is None else headers))
        (answered, express_flask_ran), (expected, _) = answers
        assert comparable(answered) == comparable(expected)
        assert express_flask_ran is not lane_answers
        return answered

    logins = [log_in(instance) for instance in pair]
    # refusals that leave the code unspent
    each(logins, lane_answers=True, headers=basic((shop_id, "wrong")))
    each(logins, lane_answers=True, headers=basic(setup["machine"]))
    # what the lane does not judge
    each(logins, lane_answers=False, headers={**basic(setup["shop"]), "DPoP": "not.a.proof"})
    logins = [log_in(instance) for instance in pair]
    each(logins, lane_answers=False, resource="https://api.example.com")
    logins = [log_in(instance) for instance in pair]
    refused = each(logins, lane_answers=True, code_verifier="x" * 43)
    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_grant")
    logins = [log_in(instance) for instance in pair]
    each(logins, lane_answers=True, redirect_uri="http://127.0.0.1:9999/elsewhere")
    logins = [log_in(instance) for instance in pair]
    issued = each(logins, lane_answers=True)
    assert issued.status_code == 200 and {"access_token", "id_token", "refresh_token"} <= set(issued.get_json())
    replayed = each(logins, lane_answers=True)
    assert (replayed.status_code, replayed.get_json()["error"]) == (400, "invalid_grant")
    refresh = express.send("POST", "token", headers=basic(setup["shop"]), data={
        "grant_type": "refresh_token", "refresh_token": issued.get_json()["refresh_token"]})[0]
    assert refresh.status_code == 400, "the replayed code's refresh token still works"
    with express.app.app_context():
        from idp.extensions import db
        from idp.models import AuditEvent

        replays = db.session.scalars(db.select(AuditEvent).filter_by(event_type="oauth.code_replayed")).all()
        assert len(replays) == 2 and {event.ip_address for event in replays} == {"127.0.0.1"}


def test_a_public_clients_code_exchange_gets_the_same_answer_from_the_lane_and_flask(pair, setup, runner):
    """A public client (a mobile or single-page app) sends its client_id and its PKCE verifier,
    no secret: the lane answers it, and refuses a wrong verifier as Flask does."""
    from ..flows import HostedLogin

    app_id = json.loads(runner("clients", "create", "--realm", REALM, "--name", "Phone app", "--redirect-uri",
                               REDIRECT_URI, "--public", "--json").stdout)["client_id"]
    for verifier, status in (("x" * 43, 400), (None, 200)):
        answers = []
        for instance in pair:
            login = HostedLogin(instance.app.test_client(), REALM, app_id, redirect_uri=REDIRECT_URI)
            login.authorize(scope="openid email")
            login.log_in(EMAIL)
            answers.append(instance.send("POST", "token", data={
                "grant_type": "authorization_code", "code": login.callback_params()["code"], "client_id": app_id,
                "redirect_uri": REDIRECT_URI, "code_verifier": verifier or login.verifier}))
        (answered, express_flask_ran), (expected, _) = answers
        assert answered.status_code == expected.status_code == status, answered.get_json()
        assert answered.get_json().keys() == expected.get_json().keys()
        assert not express_flask_ran


def test_a_code_exchange_that_fails_after_its_code_was_spent_is_answered_by_the_lane(pair, setup, monkeypatch):
    """Started over in Flask, the exchange would find its code spent: a replay, which revokes
    and is recorded as an attack. The lane answers the failure itself, as Flask would (500)."""
    from idp.oidc import server as oidc_server

    from ..flows import HostedLogin

    express, _ = pair
    login = HostedLogin(express.http, REALM, *setup["shop"], redirect_uri=REDIRECT_URI)
    login.authorize(scope="openid email")
    login.log_in(EMAIL)

    def broken(*args, **kwargs):
        raise RuntimeError("the token row could not be written")

    monkeypatch.setattr(oidc_server.RealmAuthorizationServer, "save_token", broken)
    answered, flask_ran = express.send("POST", "token", headers=basic(setup["shop"]), data={
        "grant_type": "authorization_code", "code": login.callback_params()["code"], "redirect_uri": REDIRECT_URI,
        "code_verifier": login.verifier})
    assert (answered.status_code, answered.get_json()["error"]) == (500, "server_error")
    assert not flask_ran
    with express.app.app_context():
        from idp.extensions import db
        from idp.models import AuditEvent

        assert not db.session.scalars(db.select(AuditEvent).filter_by(event_type="oauth.code_replayed")).all()
