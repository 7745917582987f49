"""Odd bytes in an authorization request: quotes, backslashes, DEL and other controls, non-ASCII
text, invalid UTF-8, in any parameter, by GET or POST, signed in or not. The answer is always one
a person or a relying app can act on: a 400 page, the OAuth error at the client's registered
redirect URI, or the login going on when the value is acceptable. Never a 500, and never a
redirect anywhere else."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ..helpers import query_params
from .conftest import REALM, REDIRECT, authorize_params, log_in_with_test_client, pkce_pair

# Hypothesis's failure report imports a module that warns; keep the report readable.
pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

AUTHORIZE = f"/realms/{REALM}/authorize"
PARAMETERS = [
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", "response_mode", "prompt", "max_age", "display", "ui_locales", "claims_locales",
    "login_hint", "id_token_hint", "acr_values", "claims", "request", "request_uri", "registration",
    "an_unknown_parameter",
]
ODD = ['"', "\\", "\x7f", "\x00", "\n", "\r\n", "\t", " ", "é", "É", "ß", "²", "١", "\u202e", "\ufffd",
       "😀", "<script>", "%", "%00", "&", "=", "#", "'"]
odd_text = st.lists(st.sampled_from(ODD) | st.text(st.characters(exclude_categories=("Cs",)), max_size=3),
                    min_size=1, max_size=4).map("".join)


@pytest.fixture
def confidential(factory, realm):
    return factory.client(realm, redirect_uri=REDIRECT)


def assert_clear_answer(client, response):
    """A 4xx page, the client's redirect URI with an error, or the next page of the login
    (which must itself answer without a server error)."""
    assert response.status_code < 500, response.get_data(as_text=True)[:1000]
    if response.status_code >= 400:
        assert "Location" not in response.headers
        return
    assert response.status_code == 302, response.status_code
    if response.location.startswith(REDIRECT + "?"):
        answer = query_params(response.location)
        assert "error" in answer or "code" in answer, response.location
        return
    assert urlsplit(response.location).path.startswith(f"/realms/{REALM}/login/"), response.location
    page = client.get(response.location)
    assert page.status_code < 500, page.get_data(as_text=True)[:1000]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("parameter", ["response_type", "redirect_uri"])
@pytest.mark.parametrize("odd", ['"', "\\", "é", "\x7f"], ids=["quote", "backslash", "non-ascii", "del"])
def test_odd_byte_in_response_type_or_redirect_uri_is_a_400_page_not_a_500(
        client, confidential, method, parameter, odd):
    """The review's reproduction: Authlib wrote these values into an error description, which it
    then refused with a ValueError."""
    params = authorize_params(confidential[0], pkce_pair()[1])
    params[parameter] += odd
    if method == "GET":
        response = client.get(AUTHORIZE, query_string=params)
    else:
        response = client.post(AUTHORIZE, data=params)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers


@pytest.mark.parametrize("parameter", ["nonce", "prompt", "ui_locales", "acr_values", "scope", "display"])
def test_control_characters_in_a_parameter_go_back_to_the_client_as_invalid_request(client, confidential, parameter):
    params = authorize_params(confidential[0], pkce_pair()[1])
    params[parameter] = params.get(parameter, "page") + "\x00"

    response = client.get(AUTHORIZE, query_string=params)

    assert response.status_code == 302 and response.location.startswith(REDIRECT + "?")
    answer = query_params(response.location)
    assert answer["error"] == "invalid_request" and answer["state"] == "st4te"
    assert parameter in answer["error_description"]


def test_max_age_in_other_digits_than_ascii_is_refused_for_a_signed_in_user(client, confidential):
    """'²'.isdigit() is true but int('²') fails: with a session, max_age reached int()."""
    log_in_with_test_client(client, confidential[0])

    response = client.get(AUTHORIZE, query_string=authorize_params(confidential[0], pkce_pair()[1], max_age="²"))

    assert response.status_code == 302
    assert query_params(response.location)["error"] == "invalid_request"


def test_non_ascii_login_hint_and_nonce_are_accepted(client, confidential):
    """Free-text parameters may hold any text but controls: an address like Émile's is a hint."""
    params = authorize_params(confidential[0], pkce_pair()[1], login_hint="Émile@example.com", nonce="nönce")

    response = client.get(AUTHORIZE, query_string=params)

    assert response.status_code == 302 and f"/realms/{REALM}/login/" in response.location
    assert "Émile@example.com" in client.get(response.location).get_data(as_text=True)


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(PARAMETERS), odd_text, min_size=1, max_size=3),
       method=st.sampled_from(["GET", "POST"]), append=st.booleans(), signed_in=st.booleans())
@example(changes={"response_type": 'code"'}, method="GET", append=False, signed_in=False)
@example(changes={"max_age": "²"}, method="GET", append=False, signed_in=True)
def test_no_odd_authorization_parameter_gets_a_server_error(client, confidential, changes, method, append, signed_in):
    if signed_in and not client.get_cookie("idp_session", path=f"/realms/{REALM}/"):
        log_in_with_test_client(client, confidential[0])
    elif not signed_in:
        client.delete_cookie("idp_session", path=f"/realms/{REALM}/")
    params = authorize_params(confidential[0], pkce_pair()[1])
    for name, value in changes.items():
        params[name] = params.get(name, "") + value if append else value

    if method == "GET":
        response = client.get(AUTHORIZE, query_string=params)
    else:
        response = client.post(AUTHORIZE, data=params)

    assert_clear_answer(client, response)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.sampled_from(PARAMETERS), raw=st.binary(min_size=1, max_size=8))
@example(name="response_type", raw=b"\xff\xfe")
def test_invalid_utf8_in_any_parameter_gets_no_server_error(client, confidential, name, raw):
    params = authorize_params(confidential[0], pkce_pair()[1])
    params.pop(name, None)
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    query += f"&{name}={quote(raw, safe='')}"

    assert_clear_answer(client, client.get(f"{AUTHORIZE}?{query}"))
