"""RP-initiated logout 1.0: the app sends the browser to end_session with ``id_token_hint``; the
provider ends the browser session and sends it back only to a registered address."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from ..helpers import query_params
from .rp_app import LOGGED_OUT_URL


def _still_signed_in(browser, rp) -> bool:
    """Whether a new login from ``rp`` would be single sign-on."""
    return browser.open(rp.start_login()).left_to is not None


@pytest.fixture
def signed_in(provider, browser, relying_app):
    rp = relying_app()
    result = rp.log_in(browser)
    return rp, result["token"]["id_token"]


def test_app_logs_user_out_and_gets_the_browser_back_with_its_state(provider, browser, signed_in):
    rp, _id_token = signed_in
    end_session_url = rp.http.get("/logout").location
    assert end_session_url.startswith(provider.url("logout"))

    landing = browser.open(end_session_url)

    assert landing.left_to and landing.left_to.startswith(LOGGED_OUT_URL)
    assert query_params(landing.left_to)["state"] == query_params(end_session_url)["state"]
    back = urlsplit(landing.left_to)
    assert rp.http.get(f"{back.path}?{back.query}").status_code == 200  # Authlib checks the state
    assert not _still_signed_in(browser, rp)


def test_app_may_post_the_logout_request(provider, browser, signed_in):
    """RP-initiated logout §2: the end_session endpoint accepts GET and POST."""
    rp, id_token = signed_in
    response = browser.http.post(provider.url("logout"), allow_redirects=False, data={
        "id_token_hint": id_token, "post_logout_redirect_uri": LOGGED_OUT_URL, "state": "bye"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{LOGGED_OUT_URL}?state=bye"
    assert not _still_signed_in(browser, rp)


@pytest.mark.parametrize("redirect", [
    "http://localhost/elsewhere",
    LOGGED_OUT_URL + "/",
    LOGGED_OUT_URL + "?next=/",
    "https://evil.example/logged-out",
], ids=["other-path", "trailing-slash", "added-query", "other-host"])
def test_logout_never_redirects_to_an_unregistered_address(provider, browser, signed_in, redirect):
    rp, id_token = signed_in

    landing = browser.open(provider.url("logout"), id_token_hint=id_token, post_logout_redirect_uri=redirect, state="s")

    assert landing.left_to is None
    assert landing.response.status_code == 200
    assert "Location" not in landing.response.headers
    assert not _still_signed_in(browser, rp)


def test_logout_without_id_token_hint_asks_the_user_to_confirm(provider, browser, signed_in):
    rp, _id_token = signed_in

    landing = browser.open(provider.url("logout"))

    assert landing.response.status_code == 200
    assert "Log out" in landing.page
    assert _still_signed_in(browser, rp), "logged out before the user confirmed"
    confirmed = browser.submit(browser.open(provider.url("logout")), {})
    assert confirmed.response.status_code == 200 and confirmed.left_to is None
    assert not _still_signed_in(browser, rp)


@pytest.mark.parametrize("token", [None, "forged"], ids=["missing", "wrong"])
def test_cross_site_logout_post_without_a_valid_csrf_token_only_asks_again(provider, browser, signed_in, token):
    """A POST without a valid token is an unconfirmed logout request: the page asks again."""
    rp, _id_token = signed_in
    page = browser.open(provider.url("logout"))

    forged = browser.submit(page, {} if token is None else {"csrf_token": token}, with_csrf=False)

    assert forged.response.status_code == 200
    assert "Log out" in forged.page and forged.left_to is None
    assert _still_signed_in(browser, rp)


def test_confirmed_logout_without_id_token_hint_does_not_redirect(provider, browser, signed_in):
    rp, _id_token = signed_in
    page = browser.open(provider.url("logout"), client_id=rp.client_id, post_logout_redirect_uri=LOGGED_OUT_URL)
    confirmed = browser.submit(page, {})
    assert confirmed.left_to is None and confirmed.response.status_code == 200


@pytest.mark.parametrize("hint", ["not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."], ids=["garbage", "unsigned"])
def test_logout_with_a_forged_id_token_hint_is_an_error_page(provider, browser, signed_in, hint):
    rp, _id_token = signed_in

    landing = browser.open(provider.url("logout"), id_token_hint=hint, post_logout_redirect_uri=LOGGED_OUT_URL)

    assert landing.response.status_code == 400
    assert landing.left_to is None
    assert _still_signed_in(browser, rp)


def test_logout_with_an_id_token_of_another_realm_is_an_error_page(provider, browser, signed_in):
    factory = provider.factory
    rp, id_token = signed_in
    factory.realm("other")

    landing = browser.open(f"{provider.server.url}/realms/other/logout", id_token_hint=id_token)

    assert landing.response.status_code == 400
    assert _still_signed_in(browser, rp)


def test_logout_with_client_id_that_is_not_the_id_token_audience_is_an_error_page(provider, browser, relying_app, signed_in):
    _rp, id_token = signed_in
    other = relying_app()

    landing = browser.open(provider.url("logout"), id_token_hint=id_token, client_id=other.client_id,
                           post_logout_redirect_uri=LOGGED_OUT_URL)

    assert landing.response.status_code == 400
    assert landing.left_to is None


def test_logout_with_another_users_id_token_hint_asks_before_ending_this_session(provider, browser, signed_in):
    """An app (or a link) holding Bob's ID token must not log Alice out of her browser unasked."""
    from .conftest import Browser

    rp, _alice_id_token = signed_in
    provider.factory.user(provider.realm, email="bob@example.com")
    with Browser(provider.server.url) as bobs_browser:
        bobs_id_token = rp.log_in(bobs_browser, email="bob@example.com")["token"]["id_token"]

    page = browser.open(provider.url("logout"), id_token_hint=bobs_id_token,
                        post_logout_redirect_uri=LOGGED_OUT_URL, state="s")

    assert page.response.status_code == 200 and page.left_to is None
    assert "Log out" in page.page
    assert _still_signed_in(browser, rp), "logged out on another user's ID token without asking"
    confirmed = browser.submit(page, {})
    assert confirmed.left_to == f"{LOGGED_OUT_URL}?state=s"
    assert not _still_signed_in(browser, rp)


def test_logout_with_an_id_token_of_an_earlier_session_asks_before_ending_this_one(provider, browser, relying_app):
    rp = relying_app()
    old_id_token = rp.log_in(browser)["token"]["id_token"]
    browser.open(provider.url("logout"), id_token_hint=old_id_token)
    rp.log_in(browser)

    page = browser.open(provider.url("logout"), id_token_hint=old_id_token, post_logout_redirect_uri=LOGGED_OUT_URL)

    assert page.response.status_code == 200 and page.left_to is None and "Log out" in page.page
    assert _still_signed_in(browser, rp), "an ID token of an ended session logged the new one out"


def test_logout_with_the_sessions_own_id_token_hint_needs_no_confirmation(provider, browser, signed_in):
    rp, id_token = signed_in

    landing = browser.open(provider.url("logout"), id_token_hint=id_token, post_logout_redirect_uri=LOGGED_OUT_URL)

    assert landing.left_to == LOGGED_OUT_URL
    assert not _still_signed_in(browser, rp)


def test_logout_when_nobody_is_logged_in_goes_back_to_the_registered_address_with_state(provider, browser,
                                                                                       relying_app):
    """RP-initiated logout with no session here (it expired, or the user logged out elsewhere):
    nothing to end and nothing to confirm, so the browser goes straight back to the app."""
    rp = relying_app()

    landing = browser.open(provider.url("logout"), client_id=rp.client_id, post_logout_redirect_uri=LOGGED_OUT_URL,
                           state="bye")

    assert landing.left_to == f"{LOGGED_OUT_URL}?state=bye"


@pytest.mark.parametrize("params", [{}, {"client_id": "unknown"},
                                    {"post_logout_redirect_uri": "https://evil.example/"}],
                         ids=["no-parameters", "unknown-client", "unregistered-address"])
def test_logout_when_nobody_is_logged_in_says_so_and_asks_nothing(provider, browser, relying_app, params):
    rp = relying_app()
    if "post_logout_redirect_uri" in params:
        params = {**params, "client_id": rp.client_id}

    landing = browser.open(provider.url("logout"), **params)

    assert landing.left_to is None and landing.response.status_code == 200
    assert "You are signed out" in landing.page and 'name="csrf_token"' not in landing.page


def test_the_logout_confirmation_can_be_cancelled_back_to_the_apps_home_page(provider, browser, signed_in):
    from idp.extensions import db
    from idp.services.clients import find_client

    rp, _id_token = signed_in
    client = find_client(provider.realm, rp.client_id)
    client.home_uri = "https://app.example/"
    db.session.commit()

    page = browser.open(provider.url("logout"), client_id=rp.client_id)

    assert "Log out" in page.page and '<a class="btn btn--secondary" href="https://app.example/">Cancel</a>' in page.page
    assert _still_signed_in(browser, rp)


def test_without_a_home_page_cancel_goes_to_the_account_page(provider, browser, signed_in):
    rp, _id_token = signed_in
    page = browser.open(provider.url("logout"))
    assert f'href="/realms/{provider.realm.name}/account">Cancel</a>' in page.page
