"""Users through the API: create, get, list (paged, by email), update, delete, set password."""
from __future__ import annotations

import pytest

from ..flows import what_still_works
from ..helpers import PASSWORD
from .conftest import EMAIL


def test_admin_creates_a_user_and_gets_it_back(api):
    created = api.post("/users", {"email": EMAIL, "password": PASSWORD, "name": "Alice", "email_verified": True})
    assert created.status_code == 201
    user = created.get_json()
    assert user["email"] == EMAIL and user["email_verified"] is True and user["mfa_enabled"] is False
    assert api.get(f"/users/{user['id']}").get_json() == user
    assert api.get(f"/users/{EMAIL}").get_json()["id"] == user["id"]


@pytest.mark.parametrize("payload, field", [
    ({}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"email": EMAIL, "password": "short"}, "password"),
    ({"email": EMAIL, "password": 12345678}, "password"),
    ({"email": EMAIL, "name": "x" * 201}, "name"),
    ({"email": EMAIL, "email_verified": "yes"}, "email_verified"),
    ({"email": "a\u0000b@example.com"}, "email"),
    ({"email": EMAIL, "role": "admin"}, "role"),
])
def test_bad_user_input_is_422_naming_the_field(api, payload, field):
    response = api.post("/users", payload)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_duplicate_email_is_422_and_nothing_is_half_written(api, user):
    response = api.post("/users", {"email": EMAIL.upper().replace("EXAMPLE.COM", "example.com")})
    assert response.status_code == 422
    assert response.get_json()["fields"]["email"]
    assert len(api.get("/users").get_json()["users"]) == 1


def test_users_are_listed_in_pages_and_filtered_by_email(api, factory, realm):
    for i in range(5):
        factory.user(realm, email=f"user{i}@example.com")
    factory.user(realm, email="bob@other.org")
    first = api.get("/users", query_string={"limit": 2}).get_json()
    assert [u["email"] for u in first["users"]] == ["bob@other.org", "user0@example.com"]
    assert first["next_offset"] == 2
    last = api.get("/users", query_string={"limit": 2, "offset": 4}).get_json()
    assert last["next_offset"] is None and len(last["users"]) == 2
    assert [u["email"] for u in api.get("/users", query_string={"email": "other"}).get_json()["users"]] == [
        "bob@other.org"]
    assert api.get("/users", query_string={"limit": 0}).status_code == 422
    assert api.get("/users", query_string={"offset": "-1"}).status_code == 422


def test_admin_sets_name_mfa_flag_and_phone(api, user):
    response = api.patch(f"/users/{user.id}", {"name": "Alice L.", "mfa_enabled": True, "phone": "+14155550100"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == "Alice L." and body["mfa_enabled"] is True
    assert body["phone"] == "+14155550100" and body["phone_verified"] is False
    cleared = api.patch(f"/users/{user.id}", {"name": None, "phone": None}).get_json()
    assert cleared["name"] is None and cleared["phone"] is None


def test_bad_phone_is_422_and_the_rest_of_the_update_is_not_applied(api, user):
    response = api.patch(f"/users/{user.id}", {"name": "Changed", "phone": "4155550100"})
    assert response.status_code == 422
    assert "country code" in response.get_json()["fields"]["phone"]
    assert api.get(f"/users/{user.id}").get_json()["name"] == "Alice Liddell"


def test_admin_sets_a_password_the_user_then_logs_in_with(api, client, user, login_client):
    assert api.put(f"/users/{user.id}/password", {"password": "a brand new secret"}).status_code == 204
    response = client.post("/api/v1/realms/acme/sessions/authenticate",
                           json={"email": EMAIL, "password": "a brand new secret", "client_id": login_client[0]})
    assert response.get_json()["result"] == "full_login"
    assert api.put(f"/users/{user.id}/password", {"password": "short"}).status_code == 422
    assert api.put(f"/users/{user.id}/password", {}).status_code == 422


def test_deleted_user_is_gone(api, user):
    user_id = user.id
    assert api.delete(f"/users/{user_id}").status_code == 204
    assert api.get(f"/users/{user_id}").status_code == 404
    assert api.delete(f"/users/{user_id}").status_code == 404


@pytest.mark.parametrize("method, path", [
    ("GET", "/users/nobody"),
    ("PATCH", "/users/nobody"),
    ("DELETE", "/users/nobody"),
    ("PUT", "/users/nobody/password"),
    ("GET", "/users/nobody/credentials"),
    ("GET", "/users/nobody/recovery_codes"),
])
def test_unknown_user_is_404(api, realm, method, path):
    response = api.request(method, path, {"password": PASSWORD} if method in ("PUT", "PATCH") else None)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_users_of_another_realm_are_not_found(api, factory):
    stranger = factory.user(factory.realm("other"), email="eve@example.com")
    assert api.get(f"/users/{stranger.id}").status_code == 404


def _log_in(client, login_client, email, password=PASSWORD):
    return client.post("/api/v1/realms/acme/sessions/authenticate",
                       json={"email": email, "password": password, "client_id": login_client[0]}).get_json()


@pytest.mark.parametrize("typed", ["Émile@example.com", "émile@example.com", "ÉMILE@EXAMPLE.COM",
                                   "Éｍｉｌｅ@ｅｘａｍｐｌｅ.ｃｏｍ"])
def test_non_ascii_address_is_found_and_logs_in_whatever_case_or_width_it_is_typed_in(api, client, login_client,
                                                                                    typed):
    created = api.post("/users", {"email": "Émile@Example.com", "password": PASSWORD}).get_json()
    assert created["email"] == "Émile@example.com"

    assert api.get(f"/users/{typed}").get_json()["id"] == created["id"]
    assert [u["id"] for u in api.get("/users", query_string={"email": typed.split("@")[0]}).get_json()["users"]] == [
        created["id"]]
    assert _log_in(client, login_client, typed)["user"]["id"] == created["id"]

    second = api.post("/users", {"email": typed, "password": "another passphrase"})
    assert second.status_code == 422 and second.get_json()["fields"]["email"]
    assert len(api.get("/users").get_json()["users"]) == 1, "one mailbox, one account"


def test_idn_domain_and_its_punycode_are_one_account_through_the_api(api, client, login_client):
    created = api.post("/users", {"email": "anna@bücher.example", "password": PASSWORD}).get_json()
    assert api.get("/users/anna@xn--bcher-kva.example").get_json()["id"] == created["id"]
    assert _log_in(client, login_client, "ANNA@XN--BCHER-KVA.EXAMPLE")["user"]["email"] == "anna@bücher.example"
    assert api.post("/users", {"email": "anna@xn--bcher-kva.example"}).status_code == 422


def test_renaming_to_another_spelling_of_a_taken_non_ascii_address_is_refused(api, user):
    api.post("/users", {"email": "Émile@example.com"})
    response = api.patch(f"/users/{user.id}", {"email": "émile@example.com"})
    assert response.status_code == 422 and response.get_json()["fields"]["email"]
    assert api.get(f"/users/{user.id}").get_json()["email"] == EMAIL


@pytest.fixture
def alice_signed_in(client, user, login_client):
    from ..flows import signed_in_with_tokens

    return signed_in_with_tokens(client.application.test_client(), "acme", *login_client)


def test_password_set_through_the_api_logs_the_user_out_of_every_browser_and_app(api, user, alice_signed_in):
    """Someone who knew the old password keeps no session or token after the API changes it."""
    assert api.put(f"/users/{user.id}/password", {"password": "a brand new secret"}).status_code == 204
    assert what_still_works(*alice_signed_in) == {"session": False, "access_token": False, "refresh_token": False}


def test_api_may_keep_the_sessions_when_setting_a_password(api, user, alice_signed_in):
    response = api.put(f"/users/{user.id}/password", {"password": "a brand new secret", "keep_sessions": True})
    assert response.status_code == 204
    assert what_still_works(*alice_signed_in) == {"session": True, "access_token": True, "refresh_token": True}
    changed = api.get("/audit_events", query_string={"type": "user.password_changed"}).get_json()
    assert changed["audit_events"][0]["details"] == {"reason": "admin", "kept_sessions": True}


def test_keep_sessions_must_be_a_boolean(api, user, alice_signed_in):
    response = api.put(f"/users/{user.id}/password", {"password": "a brand new secret", "keep_sessions": "yes"})
    assert response.status_code == 422 and "keep_sessions" in response.get_json()["fields"]
    assert what_still_works(*alice_signed_in)["session"] is True, "nothing was changed"
