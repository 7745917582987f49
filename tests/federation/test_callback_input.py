"""The one callback URI registered upstream reads only ``code``, ``state``, ``error``,
``error_description`` and ``iss``; anything else is dropped, never forwarded, and malformed
values get a 400 page, not a 500."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from ..mfa.conftest import login_url, text_of
from .conftest import hostile_answer, through_upstream


def _txn_id(login) -> str:
    return login_url(login).rsplit("/", 1)[-1]


def test_callback_forwards_only_the_parameters_it_reads(realm, browser):
    login = browser(realm)
    login.authorize()
    txn = _txn_id(login)

    response = login.http.get("/realms/acme/social/callback", query_string={
        "state": f"{txn}.abc", "code": "c0de", "txn_id": "0" * 32, "realm_name": "other", "_external": "1",
        "_anchor": "x", "foo": "bar", "session_state": "s"})

    assert response.status_code == 303
    forwarded = urlsplit(response.location)
    assert forwarded.path == f"/realms/acme/login/{txn}/social/callback"
    assert dict(parse_qsl(forwarded.query)) == {"state": f"{txn}.abc", "code": "c0de"}


@pytest.mark.parametrize("name, value", [
    ("state", "abc\x7f.def"), ("state", "é" * 5), ("code", "a\x00b"), ("code", "x" * 5000),
    ("error", "access\u202edenied"), ("state", '"><script>'), ("state", "..\\.."),
])
def test_callback_with_odd_bytes_answers_400(realm, browser, name, value):
    login = browser(realm)
    login.authorize()
    params = {"state": f"{_txn_id(login)}.abc", "code": "c"}
    params[name] = value

    as_query = login.http.get("/realms/acme/social/callback", query_string=params)
    as_form = login.http.post("/realms/acme/social/callback", data=params)
    forwarded = login.http.get(f"/realms/acme/login/{_txn_id(login)}/social/callback", query_string=params)

    for response in (as_query, as_form):
        assert response.status_code == 400, response.status_code
        assert "The response from the login provider is not valid" in text_of(response.get_data(as_text=True))
    assert forwarded.status_code in (302, 400), "a bad value is refused, or a wrong state sends back to log in"


def test_callback_naming_another_issuer_is_refused(realm, browser, hostile):
    """RFC 9207: an answer that names a different issuer (a mix-up) is not used."""
    login = browser(realm)

    def answer_with_wrong_iss(url):
        return hostile_answer(url) + "&iss=https%3A%2F%2Fevil.example"

    through_upstream(login, "hostile", answer_with_wrong_iss)

    assert not login.redirected_to_app
    assert "announced a different issuer" in text_of(login.page)


@pytest.mark.parametrize("claims, outcome", [
    ({"sub": "s" * 256}, "identifier we cannot use"),
    ({"sub": "bad\x00sub"}, "identifier we cannot use"),
    ({"sub": ["not", "text"]}, "We could not verify"),
    ({"email": "mallory\x00@example.com"}, "did not share an email address"),
    ({"email": "m" * 400 + "@example.com"}, "did not share an email address"),
    ({"email": 42}, "did not share an email address"),
    ({"email": "victim@example.com, other@example.com", "email_verified": False}, "did not share an email address"),
    ({"email": "a,b@example.com", "email_verified": False}, "did not share an email address"),
])
def test_hostile_id_token_claims_get_a_message_not_a_500(realm, browser, hostile, in_app, claims, outcome):
    hostile.claims.update(claims)
    login = browser(realm)

    through_upstream(login, "hostile", hostile_answer)

    assert login.response.status_code == 200, login.response.status_code
    assert outcome in text_of(login.page)


def test_oversized_claims_are_trimmed_before_they_are_stored(realm, browser, hostile, in_app, audit_events):
    hostile.claims.update(sub="odd-1", email="odd@example.com", name="N" * 10_000,
                          amr=["mfa"] * 500 + ["x" * 1000], acr="a" * 5000)
    login = browser(realm)

    through_upstream(login, "hostile", hostile_answer)

    assert login.redirected_to_app
    [event] = audit_events("login.federated")
    assert event["upstream_amr"] == ["mfa"] * 10 and "upstream_acr" not in event
    from .conftest import user_row

    assert len(user_row(in_app, "odd@example.com").name) == 200


def test_replaying_wrong_answers_at_the_callback_records_one_audit_event_per_login(realm, browser, in_app):
    """Each GET is free for the caller: it must not be a row for us each time."""
    from idp.extensions import db
    from idp.models import AuditEvent

    login = browser(realm)
    login.authorize()
    for n in range(20):
        response = login.http.get(login_url(login, "/social/callback"), query_string={"state": f"x.{n}", "code": "c"})
        assert response.status_code == 302

    with in_app():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))
                                 .filter_by(event_type="federation.state_mismatch")) == 1
