"""Discovery lists exactly what works: every value of every ``*_supported`` list (and every
``*_supported`` switch that is on) names the test that exercises it. A value added to discovery
without a line here fails ``test_every_advertised_value_names_the_test_that_exercises_it``; a
line naming a test that does not exist fails ``test_every_named_test_exists``.

To add a value: one line in ``EXERCISED_BY`` under its key, naming ``path::test_function``."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import requests

TESTS = Path(__file__).resolve().parents[1]

RP = "oidc/test_relying_party.py"
LIFECYCLE = "oidc/test_token_lifecycle.py"
HINTS = "oidc/test_authorization_hints.py"
HERE = "oidc/test_discovery_is_exercised.py"
DEVICE = "oidc/test_device_flow.py"
EXCHANGE = "oidc/test_token_exchange.py"
ASSERTIONS = "oidc/test_client_assertions.py"
REQUEST_OBJECTS = "oidc/test_request_objects.py"
DPOP = "oidc/test_dpop.py"
ORGS = "organizations/test_tokens_and_login.py"
KEY_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
#: Client assertions are checked by the same code at every endpoint that authenticates clients:
#: each algorithm is exercised at the token endpoint, each endpoint with a signed assertion.
ASSERTION_ALGORITHMS = {
    **{alg: f"{ASSERTIONS}::test_a_service_gets_a_token_with_an_assertion_signed_by_its_registered_key"
       for alg in KEY_ALGORITHMS},
    "HS256": f"{ASSERTIONS}::test_a_client_secret_jwt_client_signs_with_its_secret",
}
ASSERTION_METHODS = {
    "private_key_jwt":
        f"{ASSERTIONS}::test_every_endpoint_that_authenticates_clients_takes_an_assertion_with_its_own_url_as_audience",
    "client_secret_jwt": f"{ASSERTIONS}::test_a_client_secret_jwt_client_signs_with_its_secret",
}

EXERCISED_BY: dict[str, dict] = {
    "scopes_supported": {
        "openid": f"{RP}::test_id_token_carries_who_logged_in_how_and_when",
        "profile": f"{RP}::test_userinfo_returns_the_same_subject_and_the_scoped_claims",
        "email": f"{RP}::test_userinfo_returns_the_same_subject_and_the_scoped_claims",
        "offline_access": f"{LIFECYCLE}::test_an_app_that_did_not_ask_for_offline_access_gets_no_refresh_token",
        "roles": f"{ORGS}::test_scope_roles_puts_realm_roles_and_permissions_in_both_tokens",
        "organizations": f"{ORGS}::test_scope_roles_puts_realm_roles_and_permissions_in_both_tokens",
    },
    "response_types_supported": {
        "code": f"{RP}::test_id_token_carries_who_logged_in_how_and_when",
    },
    "response_modes_supported": {
        "query": "oidc/test_authorization_errors.py::test_response_mode_query_is_accepted",
    },
    "grant_types_supported": {
        "authorization_code": f"{RP}::test_id_token_carries_who_logged_in_how_and_when",
        "refresh_token": f"{LIFECYCLE}::test_each_refresh_returns_a_new_refresh_token_and_the_old_one_stops_working",
        "client_credentials": f"{LIFECYCLE}::test_confidential_client_gets_an_access_token_for_itself",
        "urn:ietf:params:oauth:grant-type:device_code":
            f"{DEVICE}::test_a_tv_gets_tokens_once_after_its_user_enters_the_code_logs_in_and_allows_it",
        "urn:ietf:params:oauth:grant-type:token-exchange":
            f"{EXCHANGE}::test_an_api_exchanges_the_users_token_for_a_narrower_one_that_says_it_acts_for_them",
    },
    "subject_types_supported": {
        "public": f"{RP}::test_userinfo_returns_the_same_subject_and_the_scoped_claims",
    },
    "id_token_signing_alg_values_supported": {
        alg: f"{RP}::test_relying_app_verifies_an_id_token_signed_with_the_alg_its_client_registered"
        for alg in ("RS256", "ES256", "EdDSA")
    },
    "token_endpoint_auth_methods_supported": {
        "client_secret_basic": f"{RP}::test_id_token_carries_who_logged_in_how_and_when",
        "client_secret_post": "oidc/test_token_errors.py::test_client_secret_post_is_accepted",
        "none": f"{RP}::test_public_relying_app_logs_in_with_pkce_and_no_secret",
        "private_key_jwt": f"{ASSERTIONS}::test_a_service_gets_a_token_with_an_assertion_signed_by_its_registered_key",
        "client_secret_jwt": f"{ASSERTIONS}::test_a_client_secret_jwt_client_signs_with_its_secret",
    },
    "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
    "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
    "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
    "request_object_signing_alg_values_supported": {
        **{alg: f"{REQUEST_OBJECTS}::test_a_signed_request_object_is_what_the_login_answers" for alg in KEY_ALGORITHMS},
        "HS256": f"{REQUEST_OBJECTS}::test_a_client_secret_jwt_client_may_sign_its_request_object_with_its_secret",
    },
    "dpop_signing_alg_values_supported": {
        alg: f"{DPOP}::test_a_service_proving_its_key_with_each_advertised_algorithm_gets_a_token_bound_to_it"
        for alg in KEY_ALGORITHMS
    },
    "revocation_endpoint_auth_methods_supported": {
        "client_secret_basic": f"{LIFECYCLE}::test_revoking_either_token_ends_the_grant",
        "client_secret_post": f"{HERE}::test_revocation_and_introspection_take_the_secret_in_the_body",
        "none": f"{LIFECYCLE}::test_public_client_revokes_its_own_refresh_token",
        **ASSERTION_METHODS,
    },
    "introspection_endpoint_auth_methods_supported": {
        "client_secret_basic": f"{LIFECYCLE}::test_introspection_describes_an_active_access_token",
        "client_secret_post": f"{HERE}::test_revocation_and_introspection_take_the_secret_in_the_body",
        **ASSERTION_METHODS,
    },
    "code_challenge_methods_supported": {
        "S256": f"{RP}::test_public_relying_app_logs_in_with_pkce_and_no_secret",
    },
    "claims_supported": {
        **{claim: f"{RP}::test_id_token_carries_who_logged_in_how_and_when"
           for claim in ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid")},
        **{claim: f"{HINTS}::test_claims_asked_for_individually_come_in_the_id_token_and_userinfo"
           for claim in ("name", "email", "email_verified")},
        "preferred_username": f"{DEVICE}::test_a_tv_gets_tokens_once_after_its_user_enters_the_code_logs_in_and_allows_it",
        **{claim: f"{ORGS}::test_scope_roles_puts_realm_roles_and_permissions_in_both_tokens"
           for claim in ("roles", "permissions", "organizations")},
        **{claim: f"{ORGS}::test_a_login_for_one_organization_carries_it_and_the_permissions_held_there"
           for claim in ("org_id", "org_name", "org_roles", "org_permissions")},
    },
    "acr_values_supported": {
        "urn:idp:acr:sfa": f"{HINTS}::test_an_acr_requested_as_essential_in_claims_asks_for_that_level",
        "urn:idp:acr:mfa": "mfa/test_policy.py::test_app_asking_for_mfa_with_acr_values_makes_a_user_without_mfa_enrol",
    },
    "prompt_values_supported": {
        "none": "oidc/test_single_sign_on.py::test_silent_request_with_a_session_returns_a_code",
        "login": "oidc/test_single_sign_on.py::test_app_can_demand_a_fresh_login_despite_the_session",
        "consent": "oidc/test_remembered_consent.py::test_prompt_consent_always_asks",
    },
    "ui_locales_supported": {
        "en": f"{HERE}::test_the_login_page_speaks_the_language_asked_for",
        "fr": f"{HERE}::test_the_login_page_speaks_the_language_asked_for",
    },
    "token_exchange_token_types_supported": {
        "urn:ietf:params:oauth:token-type:access_token":
            f"{EXCHANGE}::test_an_api_exchanges_the_users_token_for_a_narrower_one_that_says_it_acts_for_them",
    },
    # Switches that are on (true) are exercised too.
    "claims_parameter_supported": {True: f"{HINTS}::test_claims_asked_for_individually_come_in_the_id_token_and_userinfo"},
    "authorization_response_iss_parameter_supported": {True: f"{RP}::test_authorization_response_names_the_issuer_once"},
    "request_parameter_supported": {True: f"{REQUEST_OBJECTS}::test_a_signed_request_object_is_what_the_login_answers"},
}


@pytest.fixture
def metadata(provider):
    return requests.get(provider.url(".well-known/openid-configuration"), timeout=5).json()


def advertised(metadata: dict) -> list[tuple[str, object]]:
    values = []
    for key, value in metadata.items():
        if not key.endswith("_supported"):
            continue
        if isinstance(value, list):
            values += [(key, item) for item in value]
        elif value is True:
            values.append((key, True))
    return values


def test_every_advertised_value_names_the_test_that_exercises_it(metadata):
    unexercised = [(key, value) for key, value in advertised(metadata) if value not in EXERCISED_BY.get(key, {})]

    assert not unexercised, f"name the test exercising each in EXERCISED_BY: {unexercised}"


def test_every_named_test_exists():
    functions: dict[str, set[str]] = {}
    missing = []
    for values in EXERCISED_BY.values():
        for reference in values.values():
            path, _, name = reference.partition("::")
            if path not in functions:
                tree = ast.parse((TESTS / path).read_text())
                functions[path] = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
            if name not in functions[path]:
                missing.append(reference)
    assert not missing


def test_revocation_and_introspection_take_the_secret_in_the_body(provider, browser, relying_app):
    rp = relying_app()
    token = rp.log_in(browser)["token"]
    body = {"client_id": rp.client_id, "client_secret": rp.client_secret}

    introspected = requests.post(provider.url("introspect"), data={**body, "token": token["access_token"]}, timeout=5)
    revoked = requests.post(provider.url("revoke"), data={**body, "token": token["refresh_token"]}, timeout=5)
    after = requests.post(provider.url("introspect"), data={**body, "token": token["access_token"]}, timeout=5)

    assert introspected.json()["active"] is True
    assert revoked.status_code == 200 and after.json()["active"] is False


@pytest.mark.parametrize("locale, words", [("en", "Log in"), ("fr", "Se connecter")])
def test_the_login_page_speaks_the_language_asked_for(provider, browser, relying_app, locale, words):
    rp = relying_app()

    landing = browser.open(rp.start_login(ui_locales=locale))

    assert words in landing.page
