"""What a relying app does with its tokens after the login, through Authlib's requests client:
refresh with rotation and reuse detection, revocation (RFC 7009), introspection (RFC 7662),
and client_credentials for back-end calls."""
from __future__ import annotations

import pytest
import requests
from authlib.integrations.base_client import OAuthError


def _userinfo_status(provider, access_token: str) -> int:
    return requests.get(provider.url("userinfo"), headers={"Authorization": f"Bearer {access_token}"}, timeout=5).status_code


def _introspect(provider, session, token: str, hint: str | None = None) -> dict:
    response = session.introspect_token(provider.url("introspect"), token=token, token_type_hint=hint)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def logged_in(provider, browser, relying_app):
    """A confidential relying app right after a login: (app, its back-end session, tokens)."""
    rp = relying_app()
    token = rp.log_in(browser)["token"]
    return rp, provider.oauth_session(rp.client_id, rp.client_secret), token


# --- refresh ---------------------------------------------------------------------------------

def test_each_refresh_returns_a_new_refresh_token_and_the_old_one_stops_working(provider, logged_in):
    _rp, session, first = logged_in

    second = session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])
    third = session.refresh_token(provider.url("token"), refresh_token=second["refresh_token"])

    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert len({first["access_token"], second["access_token"], third["access_token"]}) == 3
    assert _userinfo_status(provider, third["access_token"]) == 200
    with pytest.raises(OAuthError) as rejected:
        session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])
    assert rejected.value.error == "invalid_grant"


def test_refreshed_tokens_belong_to_the_same_user_and_scope(provider, logged_in):
    _rp, session, first = logged_in
    refreshed = session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])
    assert refreshed["scope"] == first["scope"]
    assert _introspect(provider, session, refreshed["access_token"])["sub"] == first["userinfo"]["sub"]


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(provider, logged_in):
    _rp, session, first = logged_in
    second = session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])
    assert _userinfo_status(provider, second["access_token"]) == 200

    with pytest.raises(OAuthError) as reuse:
        session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])

    assert reuse.value.error == "invalid_grant"
    with pytest.raises(OAuthError) as newest:
        session.refresh_token(provider.url("token"), refresh_token=second["refresh_token"])
    assert newest.value.error == "invalid_grant"
    for access_token in (first["access_token"], second["access_token"]):
        assert _userinfo_status(provider, access_token) == 401
        assert _introspect(provider, session, access_token) == {"active": False}
    assert _introspect(provider, session, second["refresh_token"], "refresh_token") == {"active": False}


def test_rotated_out_refresh_token_is_inactive_at_introspection(provider, logged_in):
    _rp, session, first = logged_in
    session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])
    assert _introspect(provider, session, first["refresh_token"], "refresh_token") == {"active": False}


def test_public_client_rotates_its_refresh_token_too(provider, browser, relying_app):
    rp = relying_app(public=True)
    first = rp.log_in(browser)["token"]
    session = provider.oauth_session(rp.client_id, None)

    second = session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])

    assert second["refresh_token"] != first["refresh_token"]
    with pytest.raises(OAuthError) as reuse:
        session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])
    assert reuse.value.error == "invalid_grant"
    assert _userinfo_status(provider, second["access_token"]) == 401


def test_refresh_can_narrow_the_scope_but_not_widen_it(provider, browser, relying_app):
    rp = relying_app(scope="openid email offline_access")
    first = rp.log_in(browser)["token"]
    session = provider.oauth_session(rp.client_id, rp.client_secret)

    narrower = session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"],
                                     scope="openid offline_access")
    with pytest.raises(OAuthError) as wider:
        session.refresh_token(provider.url("token"), refresh_token=narrower["refresh_token"],
                              scope="openid email profile offline_access")

    assert narrower["scope"] == "openid offline_access"
    assert wider.value.error == "invalid_scope"


def test_an_app_that_did_not_ask_for_offline_access_gets_no_refresh_token(provider, browser, relying_app):
    """OpenID Connect Core §11: a refresh token keeps the app in the account after the user
    leaves, which is what the user grants with offline_access; without it there is none."""
    rp = relying_app(scope="openid profile email")

    token = rp.log_in(browser)["token"]

    assert "refresh_token" not in token
    assert "access_token" in token and "id_token" in token


def test_a_refresh_that_drops_offline_access_gets_no_new_refresh_token(provider, browser, relying_app):
    rp = relying_app(scope="openid email offline_access")
    first = rp.log_in(browser)["token"]

    # Authlib's client puts the old refresh token back into a response that has none: ask directly.
    last = requests.post(provider.url("token"), auth=(rp.client_id, rp.client_secret), timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "openid email"}).json()

    assert last["scope"] == "openid email" and "access_token" in last and "refresh_token" not in last


def test_refresh_stops_working_when_the_user_is_disabled(provider, logged_in):
    from idp.extensions import db
    from idp.services.users import get_user

    _rp, session, first = logged_in
    get_user(provider.realm, "alice@example.com").disabled = True
    db.session.commit()

    with pytest.raises(OAuthError) as refused:
        session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_reuse_in_one_family_leaves_other_logins_alone(provider, browser, relying_app, logged_in):
    _rp, session, first = logged_in
    other = relying_app()
    other_token = other.log_in(browser)["token"]
    session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])
    with pytest.raises(OAuthError):
        session.refresh_token(provider.url("token"), refresh_token=first["refresh_token"])
    assert _userinfo_status(provider, other_token["access_token"]) == 200


def test_a_client_cannot_use_another_clients_refresh_token(provider, relying_app, logged_in):
    _rp, _session, first = logged_in
    thief = relying_app()
    with pytest.raises(OAuthError) as rejected:
        provider.oauth_session(thief.client_id, thief.client_secret).refresh_token(
            provider.url("token"), refresh_token=first["refresh_token"])
    assert rejected.value.error == "invalid_grant"


# --- revocation ------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_revoking_either_token_ends_the_grant(provider, logged_in, which):
    _rp, session, token = logged_in

    response = session.revoke_token(provider.url("revoke"), token=token[which], token_type_hint=which)

    assert response.status_code == 200
    assert _userinfo_status(provider, token["access_token"]) == 401
    assert _introspect(provider, session, token["access_token"]) == {"active": False}
    with pytest.raises(OAuthError) as refresh:
        session.refresh_token(provider.url("token"), refresh_token=token["refresh_token"])
    assert refresh.value.error == "invalid_grant"


@pytest.mark.parametrize("which, hint", [("access_token", "refresh_token"), ("refresh_token", "access_token"),
                                         ("access_token", "id_token"), ("refresh_token", "no-such-type")])
def test_a_wrong_or_unknown_hint_does_not_keep_a_token_from_being_revoked(provider, logged_in, which, hint):
    """RFC 7009 §2.1: a server that cannot find the token by its hint "MUST extend its search
    across all of its supported token types"; the hint is only a hint."""
    _rp, session, token = logged_in

    response = session.revoke_token(provider.url("revoke"), token=token[which], token_type_hint=hint)

    assert response.status_code == 200, response.text
    assert _userinfo_status(provider, token["access_token"]) == 401
    assert _introspect(provider, session, token["access_token"]) == {"active": False}


def test_revoking_an_unknown_token_is_answered_with_200(provider, logged_in):
    """RFC 7009 §2.2: invalid tokens do not cause an error response."""
    _rp, session, _token = logged_in
    response = session.revoke_token(provider.url("revoke"), token="not-a-token")
    assert response.status_code == 200


def test_public_client_revokes_its_own_refresh_token(provider, browser, relying_app):
    rp = relying_app(public=True)
    token = rp.log_in(browser)["token"]
    session = provider.oauth_session(rp.client_id, None)
    response = session.revoke_token(provider.url("revoke"), token=token["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200
    assert _userinfo_status(provider, token["access_token"]) == 401


def test_a_client_cannot_revoke_another_clients_token(provider, relying_app, logged_in):
    _rp, _session, token = logged_in
    other = relying_app()
    provider.oauth_session(other.client_id, other.client_secret).revoke_token(
        provider.url("revoke"), token=token["access_token"])
    assert _userinfo_status(provider, token["access_token"]) == 200


# --- introspection ---------------------------------------------------------------------------

def test_introspection_describes_an_active_access_token(provider, logged_in):
    rp, session, token = logged_in
    data = _introspect(provider, session, token["access_token"], "access_token")
    assert data["active"] is True
    assert data["client_id"] == rp.client_id
    assert data["sub"] == token["userinfo"]["sub"]
    assert data["iss"] == provider.issuer
    assert set(data["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert data["exp"] > data["iat"]
    assert data["username"] == "alice@example.com"


def test_introspection_does_not_give_the_email_of_a_user_who_did_not_grant_the_email_scope(
        provider, browser, relying_app):
    rp = relying_app(scope="openid profile offline_access")
    token = rp.log_in(browser)["token"]
    session = provider.oauth_session(rp.client_id, rp.client_secret)

    for kind in ("access_token", "refresh_token"):
        data = _introspect(provider, session, token[kind], kind)
        assert data["active"] is True and "username" not in data
        assert "alice@example.com" not in str(data)


def test_another_client_of_the_realm_cannot_introspect_an_apps_tokens(provider, logged_in):
    """RFC 7662 §4: a client that is not the token's own, nor one of its resource servers,
    learns nothing, not even that the token exists."""
    _rp, _session, token = logged_in
    other = provider.oauth_session(*provider.client(client_credentials=True))

    assert _introspect(provider, other, token["access_token"]) == {"active": False}
    assert _introspect(provider, other, token["refresh_token"], "refresh_token") == {"active": False}


def test_another_client_cannot_introspect_a_client_credentials_token(provider):
    service = provider.oauth_session(*provider.client(client_credentials=True))
    access_token = service.fetch_token(provider.url("token"), grant_type="client_credentials")["access_token"]
    other = provider.oauth_session(*provider.client(client_credentials=True))

    assert _introspect(provider, other, access_token) == {"active": False}


def test_a_resource_server_of_the_app_may_introspect_its_tokens(provider, logged_in):
    rp, _session, token = logged_in
    api = provider.oauth_session(*provider.client(client_credentials=True, resource_server_for=[rp.client_id]))
    unrelated_app = provider.oauth_session(*provider.client(client_credentials=True))
    unrelated_token = unrelated_app.fetch_token(provider.url("token"), grant_type="client_credentials")

    data = _introspect(provider, api, token["access_token"])

    assert data["active"] is True and data["client_id"] == rp.client_id
    assert _introspect(provider, api, unrelated_token["access_token"]) == {"active": False}


def test_introspection_describes_an_active_refresh_token(provider, logged_in):
    _rp, session, token = logged_in
    data = _introspect(provider, session, token["refresh_token"], "refresh_token")
    assert data["active"] is True
    assert data["token_type"] == "refresh_token"


@pytest.mark.parametrize("which, hint", [("access_token", "refresh_token"), ("refresh_token", "access_token"),
                                         ("access_token", "id_token"), ("refresh_token", "no-such-type")])
def test_a_wrong_or_unknown_hint_still_finds_the_token_at_introspection(provider, logged_in, which, hint):
    """RFC 7662 §2.1: the hint is only a hint; a token the hint does not find is searched for
    as any type (idp tells the type from the token itself)."""
    _rp, session, token = logged_in
    data = _introspect(provider, session, token[which], hint)
    assert data["active"] is True
    assert data["token_type"] == ("refresh_token" if which == "refresh_token" else "Bearer")


def test_introspection_says_inactive_once_the_user_is_disabled(provider, logged_in):
    from idp.extensions import db
    from idp.services.users import get_user

    _rp, session, token = logged_in
    get_user(provider.realm, "alice@example.com").disabled = True
    db.session.commit()

    assert _introspect(provider, session, token["access_token"]) == {"active": False}
    assert _introspect(provider, session, token["refresh_token"], "refresh_token") == {"active": False}


def test_introspection_says_inactive_for_a_token_it_never_issued(provider, logged_in):
    _rp, session, _token = logged_in
    assert _introspect(provider, session, "eyJhbGciOiJub25lIn0.e30.") == {"active": False}


@pytest.mark.parametrize(("auth", "reason"), [
    (None, "no client authentication"),
    (("nobody", "secret"), "unknown client"),
    ("wrong-secret", "wrong secret"),
])
def test_introspection_requires_client_authentication(provider, logged_in, auth, reason):
    rp, _session, token = logged_in
    if auth == "wrong-secret":
        auth = (rp.client_id, "wrong")
    response = requests.post(provider.url("introspect"), data={"token": token["access_token"]}, auth=auth, timeout=5)
    assert response.status_code == 401, reason
    assert response.json()["error"] == "invalid_client"


def test_public_client_cannot_introspect(provider, browser, relying_app):
    rp = relying_app(public=True)
    token = rp.log_in(browser)["token"]
    response = requests.post(provider.url("introspect"), data={"token": token["access_token"], "client_id": rp.client_id}, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_client_of_another_realm_cannot_introspect_this_realms_tokens(provider, logged_in):
    factory = provider.factory
    _rp, _session, token = logged_in
    other_realm = factory.realm("other")
    client_id, secret = factory.client(other_realm, redirect_uri="http://localhost/callback")
    session = provider.oauth_session(client_id, secret)

    at_acme = session.introspect_token(provider.url("introspect"), token=token["access_token"])
    at_own_realm = session.introspect_token(f"{provider.server.url}/realms/other/introspect", token=token["access_token"])

    assert at_acme.status_code == 401 and at_acme.json()["error"] == "invalid_client"
    assert at_own_realm.status_code == 200 and at_own_realm.json() == {"active": False}


# --- client credentials ----------------------------------------------------------------------

def test_confidential_client_gets_an_access_token_for_itself(provider):
    client_id, secret = provider.client(client_credentials=True)
    session = provider.oauth_session(client_id, secret)

    token = session.fetch_token(provider.url("token"), grant_type="client_credentials")

    assert "refresh_token" not in token and "id_token" not in token
    data = _introspect(provider, session, token["access_token"])
    assert data["active"] is True and data["sub"] == client_id and data["client_id"] == client_id


def test_a_revoked_client_credentials_token_stops_introspecting_as_active(provider):
    client_id, secret = provider.client(client_credentials=True)
    session = provider.oauth_session(client_id, secret)
    access_token = session.fetch_token(provider.url("token"), grant_type="client_credentials")["access_token"]
    other = session.fetch_token(provider.url("token"), grant_type="client_credentials")["access_token"]

    revoked = session.revoke_token(provider.url("revoke"), token=access_token, token_type_hint="access_token")

    assert revoked.status_code == 200
    assert _introspect(provider, session, access_token) == {"active": False}
    assert _introspect(provider, session, other)["active"] is True, "only the revoked token ends"


def test_another_client_cannot_revoke_a_clients_own_token(provider):
    client_id, secret = provider.client(client_credentials=True)
    owner = provider.oauth_session(client_id, secret)
    access_token = owner.fetch_token(provider.url("token"), grant_type="client_credentials")["access_token"]
    intruder = provider.oauth_session(*provider.client(client_credentials=True))

    intruder.revoke_token(provider.url("revoke"), token=access_token, token_type_hint="access_token")

    assert _introspect(provider, owner, access_token)["active"] is True


def test_deleting_a_client_ends_its_tokens(provider, browser, relying_app):
    from idp.extensions import db
    from idp.services.clients import delete_client, get_client

    rp = relying_app(client_credentials=True)
    user_token = rp.log_in(browser)["token"]
    service = provider.oauth_session(rp.client_id, rp.client_secret)
    service_token = service.fetch_token(provider.url("token"), grant_type="client_credentials")["access_token"]
    auditor = provider.oauth_session(*provider.client(client_credentials=True, resource_server_for=[rp.client_id]))
    assert _introspect(provider, auditor, service_token)["active"] is True

    delete_client(get_client(provider.realm, rp.client_id))
    db.session.commit()

    assert _introspect(provider, auditor, service_token) == {"active": False}
    assert _introspect(provider, auditor, user_token["access_token"]) == {"active": False}
    assert _userinfo_status(provider, user_token["access_token"]) == 401


def test_a_client_credentials_token_ends_when_the_client_loses_the_grant(provider):
    from idp.extensions import db
    from idp.services.clients import get_client

    client_id, secret = provider.client(client_credentials=True)
    session = provider.oauth_session(client_id, secret)
    access_token = session.fetch_token(provider.url("token"), grant_type="client_credentials")["access_token"]
    client = get_client(provider.realm, client_id)
    client.grant_types = [grant for grant in client.grant_types if grant != "client_credentials"]
    db.session.commit()

    assert _introspect(provider, session, access_token) == {"active": False}


def test_public_client_is_refused_client_credentials(provider):
    client_id, _ = provider.client(public=True)
    response = requests.post(provider.url("token"), data={"grant_type": "client_credentials", "client_id": client_id}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_confidential_client_must_authenticate_for_client_credentials(provider):
    client_id, _secret = provider.client(client_credentials=True)
    response = requests.post(provider.url("token"), data={"grant_type": "client_credentials", "client_id": client_id}, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_confidential_client_without_the_grant_is_refused_client_credentials(provider):
    client_id, secret = provider.client(client_credentials=False)
    with pytest.raises(OAuthError) as refused:
        provider.oauth_session(client_id, secret).fetch_token(provider.url("token"), grant_type="client_credentials")
    assert refused.value.error == "unauthorized_client"


def test_a_client_registered_again_under_a_deleted_clients_id_does_not_inherit_its_tokens(provider):
    import time as clock

    from idp.extensions import db
    from idp.services.clients import delete_client, get_client

    client_id, secret = provider.client(client_id="billing-service", client_credentials=True)
    old_token = provider.oauth_session(client_id, secret).fetch_token(
        provider.url("token"), grant_type="client_credentials")["access_token"]
    delete_client(get_client(provider.realm, client_id))
    db.session.commit()
    clock.sleep(1.1)  # tokens carry whole seconds
    _, new_secret = provider.client(client_id="billing-service", client_credentials=True)
    successor = provider.oauth_session(client_id, new_secret)

    assert _introspect(provider, successor, old_token) == {"active": False}
    new_token = successor.fetch_token(provider.url("token"), grant_type="client_credentials")["access_token"]
    assert _introspect(provider, successor, new_token)["active"] is True


def test_revoking_one_client_credentials_token_from_many_requests_at_once_answers_200_to_all(provider):
    from concurrent.futures import ThreadPoolExecutor

    client_id, secret = provider.client(client_credentials=True)
    session = provider.oauth_session(client_id, secret)
    access_token = session.fetch_token(provider.url("token"), grant_type="client_credentials")["access_token"]

    def revoke(_):
        return requests.post(provider.url("revoke"), data={"token": access_token}, auth=(client_id, secret),
                             timeout=10).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(revoke, range(8)))

    assert statuses == [200] * 8
    assert _introspect(provider, session, access_token) == {"active": False}
