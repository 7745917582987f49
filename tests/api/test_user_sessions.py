"""/api/v1/realms/R/users/U/sessions: support sees where a user is logged in and ends one
session (that browser and the tokens issued in it) or all of them."""
from __future__ import annotations

from ..flows import signed_in_with_tokens, what_still_works
from .conftest import EMAIL, REALM


def _two_browsers(app, realm, factory):
    client_id, secret = factory.client(realm, name="Shop")
    laptop = signed_in_with_tokens(app.test_client(), REALM, client_id, secret, EMAIL)
    phone = signed_in_with_tokens(app.test_client(), REALM, client_id, secret, EMAIL)
    return laptop, phone


def test_support_lists_a_users_sessions_and_ends_one(app, api, factory, realm, user):
    laptop, phone = _two_browsers(app, realm, factory)

    listed = api.get(f"/users/{user.id}/sessions")

    assert listed.status_code == 200
    sessions = listed.get_json()["sessions"]
    assert len(sessions) == 2 and {s["amr"][0] for s in sessions} == {"pwd"}
    assert all(s["id"] and s["expires_at"] and s["authenticated_at"] for s in sessions)
    newest = sessions[0]["id"]

    assert api.delete(f"/users/{user.id}/sessions/{newest}").status_code == 204

    assert [s["id"] for s in api.get(f"/users/{user.id}/sessions").get_json()["sessions"]] == [sessions[1]["id"]]
    assert what_still_works(*phone) == {"session": False, "access_token": False, "refresh_token": False}
    assert what_still_works(*laptop) == {"session": True, "access_token": True, "refresh_token": True}
    assert api.delete(f"/users/{user.id}/sessions/{newest}").status_code == 404


def test_support_ends_every_session_of_a_user(app, api, factory, realm, user):
    laptop, phone = _two_browsers(app, realm, factory)

    ended = api.delete(f"/users/{user.id}/sessions")

    assert ended.status_code == 200
    assert ended.get_json()["sessions"] == 2 and ended.get_json()["tokens"] >= 2
    assert api.get(f"/users/{user.id}/sessions").get_json()["sessions"] == []
    for browser in (laptop, phone):
        assert what_still_works(*browser) == {"session": False, "access_token": False, "refresh_token": False}
    events = {e["type"] for e in api.get("/audit_events", query_string={"user_id": user.id}).get_json()["audit_events"]}
    assert "user.sessions_ended" in events


def test_a_session_of_another_user_cannot_be_ended_through_this_one(app, api, factory, realm, user):
    _two_browsers(app, realm, factory)
    bob = factory.user(realm, email="bob@example.com")
    alice_session = api.get(f"/users/{user.id}/sessions").get_json()["sessions"][0]["id"]

    assert api.delete(f"/users/{bob.id}/sessions/{alice_session}").status_code == 404
    assert len(api.get(f"/users/{user.id}/sessions").get_json()["sessions"]) == 2
