"""A relying app's view of roles and organizations: the claims the scopes ``roles`` and
``organizations`` release, and logins for one organization (``organization=`` on
``/authorize`` or through PAR, or the picker of a client that requires one)."""
from __future__ import annotations

import base64
import json

import pytest

from idp.extensions import db
from idp.services import organizations as orgs
from idp.services import roles
from idp.services.clients import find_client

from ..flows import HostedLogin, id_token_claims
from ..helpers import query_params


def _payload(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture
def acme(factory):
    """Alice is a realm admin, a billing member of Globex and a viewer at Initech; Bob belongs
    to nothing."""
    realm = factory.realm("acme")
    alice = factory.user(realm, email="alice@example.com", email_verified=True)
    factory.user(realm, email="bob@example.com", email_verified=True)
    roles.create_role(realm, "admin", permissions=["users:manage"])
    roles.create_role(realm, "billing", permissions=["invoices:read", "invoices:write"])
    roles.create_role(realm, "viewer", permissions=["invoices:read"])
    roles.assign_role(alice, roles.get_role(realm, "admin"))
    globex = orgs.create_organization(realm, "globex", display_name="Globex Corporation")
    initech = orgs.create_organization(realm, "initech", display_name="Initech")
    orgs.add_member(globex, alice, roles=["billing"])
    orgs.add_member(initech, alice, roles=["viewer"])
    db.session.commit()
    client_id, secret = factory.client(realm, name="Billing")
    return realm, client_id, secret


def _login(app, acme, email="alice@example.com", **params):
    realm, client_id, secret = acme
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.authorize(**params)
    login.log_in(email)
    return login


def test_scope_roles_puts_realm_roles_and_permissions_in_both_tokens(app, acme):
    login = _login(app, acme, scope="openid email roles organizations")
    tokens = login.exchange_code()

    for claims in (id_token_claims(tokens), _payload(tokens["access_token"])):
        assert claims["roles"] == ["admin"]
        assert claims["permissions"] == ["users:manage"]
        assert [o["name"] for o in claims["organizations"]] == ["globex", "initech"]
        assert "org_id" not in claims
    userinfo = login.http.get("/realms/acme/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.get_json()["roles"] == ["admin"]


def test_without_those_scopes_no_role_or_organization_claims(app, acme):
    tokens = _login(app, acme, scope="openid email").exchange_code()

    claims = _payload(tokens["access_token"])
    assert not {"roles", "permissions", "organizations", "org_id"} & (set(claims) | set(id_token_claims(tokens)))


def test_a_login_for_one_organization_carries_it_and_the_permissions_held_there(app, acme):
    realm, client_id, secret = acme
    login = _login(app, acme, scope="openid email offline_access", organization="globex")
    tokens = login.exchange_code()

    access = _payload(tokens["access_token"])
    globex = orgs.get_organization(realm, "globex")
    assert (access["org_id"], access["org_name"]) == (globex.id, "globex")
    assert access["org_roles"] == ["billing"] and access["org_permissions"] == ["invoices:read", "invoices:write"]
    assert id_token_claims(tokens)["org_id"] == globex.id
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert login.http.get("/realms/acme/userinfo", headers=bearer).get_json()["org_name"] == "globex"
    introspected = login.http.post("/realms/acme/introspect", data={"token": tokens["access_token"]},
                                   auth=(client_id, secret)).get_json()
    assert introspected["active"] and introspected["org_id"] == globex.id

    orgs.set_member_roles(globex, login_user(realm), ["viewer"])
    db.session.commit()
    refreshed = login.http.post("/realms/acme/token", data={"grant_type": "refresh_token",
                                                           "refresh_token": tokens["refresh_token"]},
                                auth=(client_id, secret)).get_json()
    assert _payload(refreshed["access_token"])["org_permissions"] == ["invoices:read"], "a refresh reads them again"


def login_user(realm):
    from idp.services.users import get_user

    return get_user(realm, "alice@example.com")


def test_an_organization_may_be_named_by_its_id_and_through_par(app, acme):
    realm, client_id, secret = acme
    initech = orgs.get_organization(realm, "initech")
    from ..flows import pkce_pair

    verifier, challenge = pkce_pair()
    http = app.test_client()
    pushed = http.post("/realms/acme/par", auth=(client_id, secret), data={
        "response_type": "code", "client_id": client_id, "redirect_uri": "http://127.0.0.1:9999/callback",
        "scope": "openid", "state": "s", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256",
        "organization": initech.id}).get_json()
    login = HostedLogin(http, "acme", client_id, secret)
    login.verifier = verifier
    login.get(f"/realms/acme/authorize?client_id={client_id}&request_uri={pushed['request_uri']}")
    login.log_in()

    assert _payload(login.exchange_code()["access_token"])["org_name"] == "initech"


@pytest.mark.parametrize("organization", ["globex", "no-such-org"])
def test_a_user_who_is_not_a_member_is_told_so_and_the_app_gets_access_denied(app, acme, organization):
    login = _login(app, acme, email="bob@example.com", organization=organization)

    assert login.response.status_code == 403
    assert "You cannot sign in here" in login.page and "is not a member of the organization" in login.page
    login.submit({"decision": "cancel"})
    assert login.redirected_to_app
    assert login.callback_params()["error"] == "access_denied"
    user = login_user_by(acme[0], "bob@example.com")
    assert user.last_login_at is None, "nothing about the account changed"


def login_user_by(realm, email):
    from idp.services.users import get_user

    db.session.expire_all()
    return get_user(realm, email)


def test_prompt_none_for_an_organization_the_user_is_not_in_answers_access_denied(app, acme):
    login = _login(app, acme, email="bob@example.com")
    assert login.redirected_to_app
    login.authorize(organization="globex", prompt="none")

    assert login.redirected_to_app and login.callback_params()["error"] == "access_denied"


def _require_organization(realm, client_id):
    orgs.set_client_organization_required(find_client(realm, client_id), True)
    db.session.commit()


def test_a_client_that_requires_an_organization_shows_the_picker_to_a_member_of_several(app, acme):
    realm, client_id, _ = acme
    _require_organization(realm, client_id)
    login = _login(app, acme)

    assert "Choose an organization" in login.page
    assert "Globex Corporation" in login.page and "Initech" in login.page
    login.submit({"organization": "not-an-org"})
    assert login.response.status_code == 400 and "Choose one of your organizations." in login.page
    login.submit({"organization": orgs.get_organization(realm, "initech").id})
    assert _payload(login.exchange_code()["access_token"])["org_name"] == "initech"


def test_a_member_of_one_organization_goes_straight_through_and_a_member_of_none_is_refused(app, acme, factory):
    realm, client_id, _ = acme
    _require_organization(realm, client_id)
    carol = factory.user(realm, email="carol@example.com")
    orgs.add_member(orgs.get_organization(realm, "globex"), carol)
    db.session.commit()

    carol_login = _login(app, acme, email="carol@example.com")
    assert _payload(carol_login.exchange_code()["access_token"])["org_name"] == "globex"
    bob_login = _login(app, acme, email="bob@example.com")
    assert bob_login.response.status_code == 403 and "does not belong to any" in bob_login.page


def test_a_verified_address_at_an_auto_join_domain_joins_when_the_login_succeeds(app, acme, factory):
    realm, _, _ = acme
    globex = orgs.get_organization(realm, "globex")
    orgs.update_organization(globex, default_role="viewer")
    orgs.add_domain(globex, "globex.example", auto_join=True)
    factory.user(realm, email="dana@globex.example", email_verified=True)
    db.session.commit()

    login = _login(app, acme, email="dana@globex.example", organization="globex")
    access = _payload(login.exchange_code()["access_token"])

    assert access["org_name"] == "globex" and access["org_permissions"] == ["invoices:read"]
    membership = orgs.get_membership(globex, login_user_by(realm, "dana@globex.example"))
    assert membership.joined_via == "domain"


def test_an_unverified_address_at_the_domain_does_not_join(app, acme, factory):
    realm, _, _ = acme
    orgs.add_domain(orgs.get_organization(realm, "globex"), "globex.example", auto_join=True)
    factory.user(realm, email="eve@globex.example", email_verified=False)
    db.session.commit()

    login = _login(app, acme, email="eve@globex.example", organization="globex")

    assert login.response.status_code == 403
    assert orgs.memberships_of(login_user_by(realm, "eve@globex.example")) == []


def test_an_organization_parameter_that_is_too_long_is_a_bad_request(app, acme):
    realm, client_id, secret = acme
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.authorize(organization="x" * 65)
    assert login.redirected_to_app and query_params(login.response.location)["error"] == "invalid_request"


def test_a_direct_login_through_the_api_may_be_for_an_organization(app, acme):
    realm, client_id, secret = acme
    http = app.test_client()

    member = http.post("/api/v1/realms/acme/sessions/authenticate", auth=(client_id, secret), json={
        "email": "alice@example.com", "password": "correct horse battery", "organization": "globex"})
    outsider = http.post("/api/v1/realms/acme/sessions/authenticate", auth=(client_id, secret), json={
        "email": "bob@example.com", "password": "correct horse battery", "organization": "globex"})

    assert member.status_code == 200, member.get_json()
    assert _payload(member.get_json()["oidc"]["access_token"])["org_name"] == "globex"
    assert outsider.status_code == 403 and outsider.get_json()["error"] == "access_denied"


def test_a_login_for_an_organization_the_user_has_left_cannot_be_refreshed(app, acme):
    """The tokens of an organization login speak for that organization: once the user is no
    longer a member, its refresh token gets nothing more (not even tokens without the claims)."""
    realm, client_id, secret = acme
    login = _login(app, acme, scope="openid email offline_access", organization="globex")
    tokens = login.exchange_code()

    orgs.remove_member(orgs.get_organization(realm, "globex"), login_user(realm))
    db.session.commit()
    refreshed = login.http.post("/realms/acme/token", data={"grant_type": "refresh_token",
                                                           "refresh_token": tokens["refresh_token"]},
                                auth=(client_id, secret))

    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"


def test_leaving_the_organization_while_a_refresh_is_under_way_refuses_it(app, acme):
    """The statement that spends the refresh token checks the membership again: a user removed
    from the organization after the refresh read the token (a member then) gets nothing, and the
    token is not spent."""
    from idp.services.realms import get_realm

    from ..helpers import refresh_grant_hook

    _, client_id, secret = acme
    tokens = _login(app, acme, scope="openid email offline_access", organization="globex").exchange_code()
    removed = []

    def remove_alice_before_the_claim():
        if not removed:
            removed.append(True)
            with app.app_context():
                here = get_realm("acme")
                orgs.remove_member(orgs.get_organization(here, "globex"), login_user(here))
                db.session.commit()
                db.session.remove()

    with refresh_grant_hook(app, "before_create_token_response", remove_alice_before_the_claim):
        refreshed = app.test_client().post("/realms/acme/token", auth=(client_id, secret), data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})

    assert removed, "the refresh never reached its claim"
    assert (refreshed.status_code, refreshed.get_json()) == (400, {"error": "invalid_grant"})
    orgs.add_member(orgs.get_organization(get_realm("acme"), "globex"), login_user(get_realm("acme")), roles=["billing"])
    db.session.commit()
    again = app.test_client().post("/realms/acme/token", auth=(client_id, secret), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert again.status_code == 200, "the refused refresh did not spend the token"
