"""A provisioning client (Okta, Entra ID, a script) keeps the realm's accounts in step with its
directory through SCIM: it creates users, finds them by filter, pages through them, changes and
deactivates them, deletes them, and manages organizations as groups; bad requests get SCIM
error bodies and change nothing."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from .conftest import GROUP_SCHEMA, USER_SCHEMA, assert_scim_error

PASSWORD = "a long enough passphrase 42"


def events(app, event_type):
    from idp.extensions import db
    from idp.models import AuditEvent

    with app.app_context():
        return [e.details for e in db.session.scalars(db.select(AuditEvent).filter_by(event_type=event_type))]


def can_log_in(app, email, password=PASSWORD):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import authenticate_password

    with app.test_request_context():
        user = authenticate_password(get_realm("acme"), email, password)
        db.session.commit()
        return user is not None


def test_a_created_user_can_log_in_and_is_found_by_user_name_external_id_and_email(app, scim):
    created = scim.create_user("Ada@Example.com", displayName="Ada Lovelace", externalId="okta-00u1",
                               password=PASSWORD)
    assert created["userName"] == "Ada@example.com" and created["active"] is True
    assert created["emails"] == [{"value": "Ada@example.com", "type": "work", "primary": True}]
    assert "password" not in created
    assert created["meta"]["location"].endswith(f"/realms/acme/scim/v2/Users/{created['id']}")
    assert created["meta"]["version"].startswith('W/"')
    assert can_log_in(app, "ada@example.com")
    scim.create_user("bob@example.com")
    for query in ('userName eq "ADA@example.com"', 'externalId eq "okta-00u1"', 'emails.value co "ada@"',
                  'emails[type eq "work" and value sw "ada"]', 'displayName sw "ada" and active eq true'):
        found = scim.get("/Users", query_string=None) if False else scim.get(f"/Users?filter={query}")
        assert found.status_code == 200, found.get_json()
        assert [u["id"] for u in found.get_json()["Resources"]] == [created["id"]], query
    assert scim.get('/Users?filter=userName eq "nobody@example.com"').get_json()["totalResults"] == 0
    assert_scim_error(scim.get('/Users?filter=nickName eq "ada"'), 400, "invalidFilter")
    assert_scim_error(scim.get('/Users?filter=userName eq'), 400, "invalidFilter")


def test_pages_of_users_follow_start_index_and_count(scim):
    ids = [scim.create_user(f"user{n}@example.com")["id"] for n in range(5)]
    page = scim.get("/Users?startIndex=2&count=2").get_json()
    assert page["totalResults"] == 5 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [u["id"] for u in page["Resources"]] == ids[1:3]


def test_a_creation_date_at_the_edge_of_the_calendar_filters_without_a_server_error(scim):
    """A time zone that pushes year 1 or 9999 out of range cannot be turned to UTC: it matches
    nothing, as an unreadable date does."""
    scim.create_user("user@example.com")

    for query in ('meta.created gt "0001-01-01T00:00:00+05:00"', 'meta.created lt "9999-12-31T23:59:59-05:00"'):
        response = scim.get(f"/Users?filter={quote(query)}")
        assert response.status_code == 200, response.get_data(as_text=True)[:200]
        assert response.get_json()["totalResults"] == 0


def test_a_filter_of_thousands_of_comparisons_is_an_invalid_filter_not_a_server_error(scim):
    huge = " or ".join(['displayName co "a"'] * 3000)

    for resource in ("Users", "Groups"):
        body = assert_scim_error(scim.get(f"/{resource}?filter={quote(huge)}"), 400, "invalidFilter")
        assert "at most" in body["detail"]


def test_a_start_index_far_past_the_end_gives_an_empty_page_not_a_server_error(scim):
    scim.create_user("user@example.com")
    scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Globex"})

    for resource in ("Users", "Groups"):
        response = scim.get(f"/{resource}?startIndex=99999999999999999999")
        assert response.status_code == 200, response.get_data(as_text=True)[:200]
        assert response.get_json().get("Resources", []) == []
        assert response.get_json()["totalResults"] == 1


def test_deactivating_locks_the_account_ends_its_sessions_and_reactivating_unlocks_it(app, scim):
    user = scim.create_user("cy@example.com", password=PASSWORD)
    response = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}])
    assert response.status_code == 204
    assert scim.get(f"/Users/{user['id']}").get_json()["active"] is False
    assert not can_log_in(app, "cy@example.com")
    assert [e.get("by") for e in events(app, "user.locked")] == ["scim"]
    response = scim.patch(f"/Users/{user['id']}?attributes=active", [{"op": "replace", "value": {"active": True}}])
    assert response.status_code == 200 and response.get_json()["active"] is True
    assert can_log_in(app, "cy@example.com")
    assert events(app, "user.unlocked")


def test_a_put_that_leaves_out_active_keeps_a_deactivated_user_locked(app, scim):
    """A PUT that only renames must not reactivate an account deprovisioned (or locked by an
    administrator): only an explicit ``active: true`` unlocks."""
    user = scim.create_user("cy@example.com", password=PASSWORD)
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}])

    renamed = scim.put(f"/Users/{user['id']}", {"schemas": [USER_SCHEMA], "userName": "cy@example.com",
                                                 "displayName": "Cy"})

    assert renamed.status_code == 200 and renamed.get_json()["active"] is False
    assert not can_log_in(app, "cy@example.com")
    assert not events(app, "user.unlocked")


def test_put_replaces_the_name_and_address_and_a_new_password_follows_the_policy(app, scim):
    user = scim.create_user("dee@example.com", displayName="Dee")
    replaced = scim.put(f"/Users/{user['id']}", {"schemas": [USER_SCHEMA], "userName": "dee@corp.example",
                                                  "password": PASSWORD, "active": True})
    assert replaced.status_code == 200, replaced.get_json()
    assert replaced.get_json()["userName"] == "dee@corp.example" and "displayName" not in replaced.get_json()
    assert can_log_in(app, "dee@corp.example")
    weak = scim.put(f"/Users/{user['id']}", {"schemas": [USER_SCHEMA], "userName": "dee@corp.example",
                                              "password": "short"})
    body = assert_scim_error(weak, 400, "invalidValue")
    assert "at least" in body["detail"]
    assert can_log_in(app, "dee@corp.example")


def test_deleting_a_user_deletes_the_account_and_records_it(app, scim):
    user = scim.create_user("eve@example.com")
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Users/{user['id']}"), 404)
    assert [e["email"] for e in events(app, "user.deleted")] == ["eve@example.com"]


def test_a_stale_etag_is_refused(scim):
    user = scim.create_user("fay@example.com")
    version = user["meta"]["version"]
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "displayName", "value": "Fay"}])
    stale = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "displayName", "value": "F"}],
                       headers={"If-Match": version})
    assert_scim_error(stale, 412)


@pytest.mark.parametrize("body, status, scim_type", [
    (b"{not json", 400, "invalidSyntax"),
    ({"schemas": [USER_SCHEMA], "userName": "not an address"}, 400, "invalidValue"),
    ({"schemas": [USER_SCHEMA], "userName": "taken@example.com"}, 409, "uniqueness"),
    ({"schemas": [USER_SCHEMA], "userName": "x\u0000@example.com"}, 400, "invalidValue"),
    ({"schemas": [USER_SCHEMA], "userName": "nul@example.com", "displayName": "a\u0000b"}, 400, "invalidValue"),
    ({"schemas": [USER_SCHEMA], "userName": "long@example.com", "externalId": "x" * 300}, 400, "invalidValue"),
    ({"schemas": [USER_SCHEMA]}, 400, None),
], ids=["malformed JSON", "not an address", "address taken", "NUL byte", "NUL in the name", "externalId too long", "no userName"])
def test_a_bad_user_is_refused_with_a_scim_error_and_nothing_is_written(app, scim, body, status, scim_type):
    from idp.extensions import db
    from idp.models import User

    scim.create_user("taken@example.com")
    if isinstance(body, bytes):
        response = scim.request("POST", "/Users", data=body)
    else:
        response = scim.post("/Users", body)
    assert_scim_error(response, status, scim_type)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_without_a_key_with_the_wrong_scope_or_another_realms_key_the_answer_is_a_scim_error(app, factory, scim):
    from ..api.conftest import make_api_key

    response = scim.get("/Users", key=None)
    assert_scim_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_scim_error(scim.get("/Users", key="idpk_not-a-key"), 401)
    with app.app_context():
        users_only = make_api_key(factory.realm("acme"), "users", scopes=["users:write"])
        reader = make_api_key(factory.realm("acme"), "reader", scopes=["scim:read"])
        other = make_api_key(factory.realm("other"), "other", scopes=["scim:write"])
    assert_scim_error(scim.get("/Users", key=users_only), 403)
    assert scim.get("/Users", key=reader).status_code == 200
    assert_scim_error(scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "r@example.com"}, key=reader), 403)
    assert_scim_error(scim.get("/Users", key=other), 403)
    assert_scim_error(scim.get("/Users", realm="nowhere", key=other), 403)


def test_groups_are_organizations_and_members_are_memberships(app, scim):
    from idp.extensions import db
    from idp.services.organizations import find_organization, memberships_of
    from idp.services.realms import get_realm
    from idp.services.users import get_user

    ada, bob = scim.create_user("ada@example.com"), scim.create_user("bob@example.com")
    response = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Sales Team", "externalId": "g-1",
                                     "members": [{"value": ada["id"]}]})
    assert response.status_code == 201, response.get_json()
    group = response.get_json()
    assert group["members"] == [{"value": ada["id"], "type": "User", "$ref": f"http://localhost/realms/acme/scim/v2/Users/{ada['id']}"}]
    patched = scim.patch(f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": bob["id"]}]},
                                                    {"op": "remove", "path": f'members[value eq "{ada["id"]}"]'}])
    assert patched.status_code == 204, patched.get_json()
    assert [m["value"] for m in scim.get(f"/Groups/{group['id']}").get_json()["members"]] == [bob["id"]]
    assert scim.get(f"/Users/{bob['id']}").get_json()["groups"][0]["value"] == group["id"]
    assert scim.get(f'/Groups?filter=members[value eq "{bob["id"]}"]').get_json()["totalResults"] == 1
    with app.app_context():
        realm = get_realm("acme")
        organization = find_organization(realm, "sales-team")
        assert organization.display_name == "Sales Team" and organization.id == group["id"]
        [membership] = memberships_of(get_user(realm, "bob@example.com"))
        assert membership.joined_via == "scim"
        db.session.remove()
    assert [e["joined_via"] for e in events(app, "organization.member_added")] == ["scim", "scim"]
    assert events(app, "organization.member_removed")
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    with app.app_context():
        assert find_organization(get_realm("acme"), "sales-team") is None


def test_a_group_with_an_unknown_member_is_refused_whole(app, scim):
    response = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Ghosts",
                                     "members": [{"value": "nobody"}]})
    assert_scim_error(response, 400, "invalidValue")
    assert scim.get("/Groups").get_json()["totalResults"] == 0


def test_discovery_lists_users_and_groups_and_what_the_server_supports(scim):
    config = scim.get("/ServiceProviderConfig").get_json()
    assert config["patch"]["supported"] and config["filter"]["supported"] and config["etag"]["supported"]
    assert not config["bulk"]["supported"]
    types = {rt["name"]: rt["endpoint"] for rt in scim.get("/ResourceTypes").get_json()["Resources"]}
    assert types == {"User": "/Users", "Group": "/Groups"}
    user_schema = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").get_json()
    assert {a["name"] for a in user_schema["attributes"]} >= {"userName", "displayName", "active", "password"}
