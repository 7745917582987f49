"""`idp clients create|set --auth-method --jwks FILE --jwks-uri --require-request-object`: an
operator registers how an app authenticates and where its keys are."""
from __future__ import annotations

import json

from ..oidc.jwt_clients import new_key, public_jwks
from .conftest import assert_one_line_error

CB = "https://app.example/callback"


def test_a_private_key_jwt_client_is_created_from_a_key_file_and_gets_no_secret(idp, acme, tmp_path):
    key = new_key("ES256", kid="shop-1")
    keys = tmp_path / "shop.jwks.json"
    keys.write_text(json.dumps(public_jwks(key)))

    created = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB,
                  "--auth-method", "private_key_jwt", "--jwks", str(keys), "--json")

    assert created["client_secret"] is None
    assert created["token_endpoint_auth_method"] == "private_key_jwt"
    assert [k["kid"] for k in created["jwks"]["keys"]] == ["shop-1"]


def test_switching_a_client_to_client_secret_jwt_issues_a_new_secret_once(runner, idp, acme):
    created = idp("clients", "create", "--realm", acme, "--name", "Shop", "--redirect-uri", CB, "--json")

    switched = idp("clients", "set", created["client_id"], "--realm", acme, "--auth-method", "client_secret_jwt",
                   "--require-request-object", "on", "--json")

    assert switched["token_endpoint_auth_method"] == "client_secret_jwt"
    assert switched["client_secret"] and switched["client_secret"] != created["client_secret"]
    assert switched["require_signed_request_object"] is True
    shown = idp("clients", "show", created["client_id"], "--realm", acme, "--json")
    assert "client_secret" not in shown


def test_a_jwks_uri_replaces_inline_keys_and_can_be_removed_again(idp, acme, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(public_jwks(new_key("RS256"))))
    created = idp("clients", "create", "--realm", acme, "--name", "API", "--redirect-uri", CB,
                  "--auth-method", "private_key_jwt", "--jwks", str(keys), "--json")

    moved = idp("clients", "set", created["client_id"], "--realm", acme, "--jwks-uri",
                "https://keys.example/jwks", "--json")
    assert moved["jwks_uri"] == "https://keys.example/jwks" and moved["jwks"] is None

    back = idp("clients", "set", created["client_id"], "--realm", acme, "--auth-method", "client_secret_basic",
               "--jwks-uri", "", "--json")
    assert back["token_endpoint_auth_method"] == "client_secret_basic" and back["jwks_uri"] is None
    assert back["client_secret"], "a client that had no secret gets one"


def test_bad_keys_or_methods_fail_with_one_line_and_change_nothing(runner, idp, acme, tmp_path):
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [new_key("RS256").as_dict(private=True)]}))

    assert_one_line_error(runner("clients", "create", "--realm", acme, "--name", "X", "--redirect-uri", CB,
                                 "--auth-method", "private_key_jwt"), "needs its public keys")
    assert_one_line_error(runner("clients", "create", "--realm", acme, "--name", "X", "--redirect-uri", CB,
                                 "--jwks", str(private)), "private key")
    assert_one_line_error(runner("clients", "create", "--realm", acme, "--name", "X", "--redirect-uri", CB,
                                 "--jwks", str(tmp_path / "missing.json")), "cannot read")
    assert_one_line_error(runner("clients", "create", "--realm", acme, "--name", "X", "--redirect-uri", CB,
                                 "--jwks-uri", "https://10.1.2.3/jwks"), "non-public address")
    assert idp("clients", "list", "--realm", acme, "--json") == []
