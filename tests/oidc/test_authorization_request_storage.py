"""What an anonymous caller of /authorize can make the provider store: only the authorization
parameters it knows, each under a length cap, from a request of at most 64 KiB, and no more
logins per address than the per-IP limit allows. A flood leaves bounded, expiring rows behind."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from idp.oidc.authorization_parameters import MAX_REQUEST_BYTES, PARAMETER_CAPS, ROUTING_PARAMETERS

from ..helpers import Factory, query_params
from .conftest import EMAIL, REALM, REDIRECT, authorize_params, log_in_with_test_client, pkce_pair


@pytest.fixture
def flood_app(make_app):
    """The provider with a small per-IP limit on new logins, realm acme, alice and a client."""
    app = make_app(security={"login_transaction_rate_limit": "25 per minute"})
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm(REALM)
        factory.user(realm, email=EMAIL)
        client_id, _secret = factory.client(realm, redirect_uri=REDIRECT)
    app.client_id = client_id
    return app


def stored_requests(app) -> list[dict]:
    from idp.extensions import db
    from idp.models import LoginTransaction

    with app.app_context():
        return [row for row in db.session.scalars(db.select(LoginTransaction.authorization_request))]


def junk(count: int, size: int) -> dict:
    return {f"x_tracking_{n}": "j" * size for n in range(count)}


def test_anonymous_authorize_flood_stores_only_known_capped_parameters_and_stops_at_the_per_ip_limit(flood_app):
    """The review's attack: anonymous POSTs of 1 MiB of parameters to the CSRF-exempt endpoint,
    each stored whole in a login transaction. Now the big ones are refused before any row,
    unknown parameters are dropped, and one address starts at most the limit's worth of logins,
    which the purge removes once they expire."""
    http = flood_app.test_client()
    url = f"/realms/{REALM}/authorize"

    def valid(**extra):
        return authorize_params(flood_app.client_id, pkce_pair()[1], **extra)

    statuses = []
    for _ in range(5):
        statuses.append(http.post(url, data={**valid(), "x_payload": "p" * (1024 * 1024 - 4096)}).status_code)
        statuses.append(http.get(url, query_string={**valid(), **junk(70, 1000)}).status_code)
        statuses.append(http.get(url, query_string=valid(state="s" * 5000)).status_code)
        statuses.append(http.post(url, data=valid(login_hint="h" * 10_000)).status_code)
    assert statuses == [413, 413, 302, 302] * 5, "refused before any login was started"
    assert stored_requests(flood_app) == []

    answers = []
    for n in range(30):
        params = {**valid(), **junk(40, 1000), "claims": '{"id_token":{"x":null}}'}
        response = http.post(url, data=params) if n % 2 else http.get(url, query_string=params)
        answers.append(response)

    assert [r.status_code for r in answers] == [302] * 25 + [429] * 5
    assert all("/login/" in r.location for r in answers[:25])
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    stored = stored_requests(flood_app)
    assert len(stored) == 25
    for request in stored:
        assert set(request) <= set(PARAMETER_CAPS), set(request) - set(PARAMETER_CAPS)
        assert all(len(value) <= PARAMETER_CAPS[name] for name, value in request.items())
        assert len(json.dumps(request)) < 1024, "a few hundred bytes of known parameters, not 40 KB"

    with flood_app.app_context():
        from idp.extensions import db
        from idp.models import LoginTransaction, utcnow
        from idp.services.purge import purge_expired

        db.session.execute(db.update(LoginTransaction).values(expires_at=utcnow() - dt.timedelta(hours=1)))
        db.session.commit()
        assert purge_expired(flood_app.extensions["idp.settings"])["login_transactions"] == 25
    assert stored_requests(flood_app) == []


CAPPED = [name for name in PARAMETER_CAPS if name not in ROUTING_PARAMETERS]


@pytest.mark.parametrize("name", CAPPED)
def test_oversized_parameter_from_a_genuine_client_is_refused_at_its_redirect_uri_not_truncated(client, realm,
                                                                                                factory, name):
    client_id, _ = factory.client(realm, redirect_uri=REDIRECT)
    value = "9" * (PARAMETER_CAPS[name] + 1)

    response = client.get(f"/realms/{REALM}/authorize",
                          query_string=authorize_params(client_id, pkce_pair()[1], **{name: value}))

    assert response.status_code == 302 and response.location.startswith(REDIRECT), response.get_data(as_text=True)
    returned = query_params(response.location)
    assert returned["error"] == "invalid_request"
    assert f"'{name}' is longer than {PARAMETER_CAPS[name]} characters" in returned["error_description"]
    if name == "state":
        assert "state" not in returned, "an oversized state is not echoed back"
    else:
        assert returned["state"] == "st4te"
    assert stored_requests(client.application) == []


@pytest.mark.parametrize("name", ROUTING_PARAMETERS)
def test_oversized_client_id_redirect_uri_or_response_type_gets_an_error_page_and_no_redirect(client, realm,
                                                                                            factory, name):
    client_id, _ = factory.client(realm, redirect_uri=REDIRECT)
    params = {**authorize_params(client_id, pkce_pair()[1]), name: "https://x.example/" + "a" * PARAMETER_CAPS[name]}

    response = client.get(f"/realms/{REALM}/authorize", query_string=params)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    assert f"&#39;{name}&#39; is longer than {PARAMETER_CAPS[name]} characters" in response.get_data(as_text=True)


def test_values_at_their_cap_are_accepted_and_kept_exactly(client, realm, factory):
    client_id, _ = factory.client(realm, redirect_uri=REDIRECT)
    long_values = {name: "v" * PARAMETER_CAPS[name] for name in ("state", "nonce", "login_hint", "acr_values")}

    response = client.get(f"/realms/{REALM}/authorize",
                          query_string=authorize_params(client_id, pkce_pair()[1], **long_values))

    assert response.status_code == 302 and "/login/" in response.location
    [stored] = stored_requests(client.application)
    assert {name: stored[name] for name in long_values} == long_values


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_authorization_request_over_64_kib_gets_a_themed_413_page_and_stores_nothing(client, realm, factory, method):
    client_id, _ = factory.client(realm, redirect_uri=REDIRECT)
    params = {**authorize_params(client_id, pkce_pair()[1]), **junk(MAX_REQUEST_BYTES // 1000, 1000)}

    if method == "GET":
        response = client.get(f"/realms/{REALM}/authorize", query_string=params)
    else:
        response = client.post(f"/realms/{REALM}/authorize", data=params)

    assert response.status_code == 413
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "This login request is too large" in page
    assert "Go back to the application and try again." in page
    assert stored_requests(client.application) == []


def test_a_max_age_of_thousands_of_digits_is_refused_not_a_500(client, realm, factory):
    """Python refuses int() of more than 4300 digits; with a session to compare it with, such a
    max_age used to end in a 500."""
    client_id, _ = factory.client(realm, redirect_uri=REDIRECT)
    log_in_with_test_client(client, client_id)

    response = client.get(f"/realms/{REALM}/authorize",
                          query_string=authorize_params(client_id, pkce_pair()[1], max_age="9" * 5000))

    assert response.status_code == 302 and response.location.startswith(REDIRECT)
    assert parse_qs(urlsplit(response.location).query)["error"] == ["invalid_request"]


def test_every_parameter_we_read_has_a_syntax_and_a_cap():
    """One table each; a parameter added to one and not the other would be stored unchecked or
    checked and never stored."""
    from idp.oidc.authorization_parameters import PARAMETER_SYNTAX

    checked_by_pkce = {"code_challenge", "code_challenge_method"}
    assert set(PARAMETER_SYNTAX) | checked_by_pkce == set(PARAMETER_CAPS)
