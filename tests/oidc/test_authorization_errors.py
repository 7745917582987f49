"""Bad authorization requests. Before the client and its redirect_uri are known to be genuine the
provider shows an error page and never redirects; after, the error goes back to the client with
its state (RFC 6749 §4.1.2.1). None of them is a 500."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from ..helpers import PASSWORD, query_params
from .conftest import EMAIL, REALM, REDIRECT, authorize_params, pkce_pair


@pytest.fixture
def confidential(factory, realm):
    return factory.client(realm, redirect_uri=REDIRECT)


@pytest.fixture
def public(factory, realm):
    client_id, _ = factory.client(realm, redirect_uri=REDIRECT, public=True)
    return client_id


def _authorize(client, params):
    return client.get(f"/realms/{REALM}/authorize", query_string=params)


@pytest.mark.parametrize(("change", "reason"), [
    ({"redirect_uri": "http://127.0.0.1:9999/elsewhere"}, "unregistered redirect_uri"),
    ({"redirect_uri": REDIRECT + "/"}, "redirect_uri with a trailing slash"),
    ({"redirect_uri": REDIRECT + "?x=1"}, "redirect_uri with an added query"),
    ({"redirect_uri": "http://127.0.0.1:9999/CALLBACK"}, "redirect_uri in another case"),
    ({"redirect_uri": "https://evil.example/callback"}, "redirect_uri on another host"),
    ({"client_id": "no-such-client"}, "unknown client"),
    ({"client_id": None}, "no client_id"),
])
def test_untrusted_client_or_redirect_uri_gets_an_error_page_and_no_redirect(client, confidential, change, reason):
    params = {**authorize_params(confidential[0], pkce_pair()[1]), **change}

    response = _authorize(client, {k: v for k, v in params.items() if v is not None})

    assert response.status_code == 400, reason
    assert "Location" not in response.headers, reason
    assert response.mimetype == "text/html"
    assert 'href="https://evil.example' not in response.get_data(as_text=True)


def test_missing_redirect_uri_with_several_registered_is_an_error_page(client, factory, realm):
    from idp.extensions import db
    from idp.services.clients import find_client

    client_id, _ = factory.client(realm, redirect_uri=REDIRECT)
    find_client(realm, client_id).redirect_uris = [REDIRECT, "http://127.0.0.1:9999/other"]
    db.session.commit()

    response = _authorize(client, authorize_params(client_id, pkce_pair()[1], redirect_uri=None))

    assert response.status_code == 400 and "Location" not in response.headers


REDIRECTED_ERRORS = [
    # (client kind, parameter changes, expected error)
    ("public", {"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ("public", {"code_challenge_method": "plain"}, "invalid_request"),
    ("confidential", {"code_challenge_method": "plain"}, "invalid_request"),
    ("public", {"code_challenge": "too-short"}, "invalid_request"),
    ("confidential", {"response_type": "token"}, "unsupported_response_type"),
    ("confidential", {"response_type": "code id_token"}, "unsupported_response_type"),
    ("confidential", {"response_type": None}, "invalid_request"),
    ("confidential", {"response_type": ""}, "invalid_request"),
    ("confidential", {"max_age": "abc"}, "invalid_request"),
    ("confidential", {"max_age": "-1"}, "invalid_request"),
    ("confidential", {"prompt": "none login"}, "invalid_request"),
    ("confidential", {"prompt": "none"}, "login_required"),
]


@pytest.mark.parametrize(("kind", "change", "error"), REDIRECTED_ERRORS,
                         ids=[f"{k}-{'&'.join(f'{a}={b}' for a, b in c.items())}" for k, c, _ in REDIRECTED_ERRORS])
def test_invalid_request_from_a_genuine_client_goes_back_to_it_with_the_error_and_state(
        client, request, kind, change, error):
    client_id = request.getfixturevalue(kind)
    client_id = client_id[0] if isinstance(client_id, tuple) else client_id
    params = authorize_params(client_id, pkce_pair()[1], **change)

    response = _authorize(client, params)

    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.location.startswith(REDIRECT)
    returned = query_params(response.location)
    assert returned["error"] == error
    assert returned["state"] == "st4te"
    assert parse_qs(urlsplit(response.location).query)["iss"] == [f"http://localhost/realms/{REALM}"]
    assert "code" not in returned


@pytest.mark.parametrize(("change", "error"), [
    ({"request_uri": "https://app.example/request.jwt"}, "request_uri_not_supported"),
    ({"registration": '{"client_name": "x"}'}, "registration_not_supported"),
], ids=["request_uri", "registration"])
def test_request_uris_and_registration_are_refused_instead_of_silently_ignored(client, confidential, change, error):
    """Discovery says request URIs (other than pushed requests') and registration at the
    authorization endpoint are unsupported; a client that used them must not believe they were
    honoured while the other parameters were used (OIDC Core §6). Request objects by value:
    ``tests/oidc/test_request_objects.py``."""
    response = _authorize(client, authorize_params(confidential[0], pkce_pair()[1], **change))

    assert response.status_code == 302 and response.location.startswith(REDIRECT + "?")
    answer = query_params(response.location)
    assert answer["error"] == error and answer["state"] == "st4te" and "code" not in answer


@pytest.mark.parametrize("mode", ["fragment", "form_post", "query.jwt", "web_message"])
def test_unsupported_response_mode_is_refused_instead_of_answered_as_query(client, confidential, mode):
    """A client that asked for fragment or form_post must not get its code in a query string it
    did not expect (discovery: response_modes_supported is ["query"])."""
    response = _authorize(client, authorize_params(confidential[0], pkce_pair()[1], response_mode=mode))

    assert response.status_code == 302 and response.location.startswith(REDIRECT + "?")
    answer = query_params(response.location)
    assert answer["error"] == "invalid_request" and "response_mode" in answer["error_description"]


def test_response_mode_query_is_accepted(client, confidential):
    response = _authorize(client, authorize_params(confidential[0], pkce_pair()[1], response_mode="query"))
    assert response.status_code == 302 and "/login/" in response.location


def test_missing_response_type_is_invalid_request_not_unsupported_response_type(client, confidential):
    """RFC 6749 §4.1.2.1: a missing required parameter is invalid_request."""
    params = authorize_params(confidential[0], pkce_pair()[1])
    del params["response_type"]

    answer = query_params(_authorize(client, params).location)

    assert answer["error"] == "invalid_request" and "response_type" in answer["error_description"]


def test_repeated_parameter_is_an_error_page(client, confidential):
    """RFC 6749 §3.1: parameters must not be included more than once."""
    query = "&".join(f"{k}={v}" for k, v in authorize_params(confidential[0], pkce_pair()[1]).items())
    response = client.get(f"/realms/{REALM}/authorize?{query}&client_id={confidential[0]}")
    assert response.status_code == 400 and "Location" not in response.headers


def test_authorization_request_may_be_posted_as_a_form(client, confidential):
    """OIDC Core §3.1.2.1: the authorization endpoint supports GET and POST."""
    response = client.post(f"/realms/{REALM}/authorize", data=authorize_params(confidential[0], pkce_pair()[1]))
    assert response.status_code == 302 and "/login/" in response.location


def test_a_nonce_already_used_by_the_client_is_refused(client, confidential):
    from .conftest import log_in_with_test_client

    log_in_with_test_client(client, confidential[0], nonce="used-once")

    response = _authorize(client, authorize_params(confidential[0], pkce_pair()[1], nonce="used-once"))

    assert response.status_code == 302 and response.location.startswith(REDIRECT)
    assert query_params(response.location)["error"] == "invalid_request"


def test_confidential_client_may_skip_pkce(client, confidential):
    params = authorize_params(confidential[0], None)
    response = _authorize(client, params)
    assert response.status_code == 302 and "/login/" in response.location


def test_unknown_scopes_are_dropped_from_what_is_granted(client, confidential):
    """RFC 6749 §3.3: the server may grant less than asked, and says so in the token response."""
    from .conftest import log_in_with_test_client, redeem_code

    client_id, secret = confidential
    params, verifier = log_in_with_test_client(client, client_id, scope="openid email admin:everything")
    token = redeem_code(client, client_id, secret, params["code"], verifier).get_json()
    assert token["scope"].split() == ["openid", "email"]


def test_request_without_openid_scope_is_plain_oauth_without_id_token(client, confidential):
    from .conftest import log_in_with_test_client, redeem_code

    client_id, secret = confidential
    params, verifier = log_in_with_test_client(client, client_id, scope="profile")
    token = redeem_code(client, client_id, secret, params["code"], verifier).get_json()
    assert "access_token" in token and "id_token" not in token


def test_ui_locales_and_login_hint_are_accepted_and_the_hint_fills_the_email(client, confidential):
    params = authorize_params(confidential[0], pkce_pair()[1], ui_locales="fr-CA de", login_hint=EMAIL)
    response = _authorize(client, params)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert f'value="{EMAIL}"' in page


def test_unknown_realm_is_a_404_page(client):
    response = client.get("/realms/nope/authorize", query_string={"client_id": "x"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "token"), ("GET", "userinfo"), ("GET", "jwks"), ("GET", ".well-known/openid-configuration"),
    ("POST", "revoke"), ("POST", "introspect"),
])
def test_unknown_realm_is_a_json_404_for_api_endpoints(client, method, path):
    response = client.open(f"/realms/nope/{path}", method=method, data={"grant_type": "client_credentials"})
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_login_post_without_csrf_token_is_refused_with_a_400_page(client, confidential):
    response = _authorize(client, authorize_params(confidential[0], pkce_pair()[1]))
    login_url = response.location

    refused = client.post(login_url, data={"email": EMAIL, "password": PASSWORD})

    assert refused.status_code == 400
    assert refused.mimetype == "text/html"
    assert "Location" not in refused.headers
