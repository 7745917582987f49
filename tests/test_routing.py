"""URL rules compile their URL builders on first use (``idp/routing.py``) and build exactly
the URLs Werkzeug's own rules build."""
import pytest
from werkzeug.routing import Map, Rule
from werkzeug.routing.exceptions import BuildError

from idp.routing import LazilyBuiltRule

RULES = [
    ("/realms/<realm_name>/authorize", None, None),
    ("/realms/<realm_name>/users/<int:user_id>", None, None),
    ("/themes/<theme>/static/<path:filename>", None, None),
    ("/account/<page>", {"page": "overview"}, None),  # a default on a path variable: folded in
    ("/realms/<realm_name>/login/<txn>", None, "<tenant>"),  # a subdomain
]
VALUES = [
    {"realm_name": "acme"},
    {"realm_name": "a c/mé", "prompt": "login consent", "ui_locales": ["fr", "en"]},
    {"realm_name": "acme", "rule": "a value named like the builder's own argument", "self": "x"},
    {"realm_name": "acme", "user_id": 7},
    {"theme": "forest", "filename": "css/site one.css"},
    {"page": "overview"},
    {"page": "overview", "next": "/x?y=1"},
    {"realm_name": "acme", "txn": "t 1", "tenant": "eu"},
]


def _urls(rule_class):
    rules = [rule_class(path, endpoint=path, defaults=defaults, subdomain=subdomain)
             for path, defaults, subdomain in RULES]
    urls = Map(rules).bind("idp.example", "/", subdomain="eu")
    built = []
    for rule in rules:
        for values in VALUES:
            if not set(rule.arguments) <= set(values):
                continue  # refused before any builder runs: proves nothing
            for external in (False, True):
                for append_unknown in (False, True):
                    try:
                        built.append(urls.build(rule.endpoint, values, force_external=external,
                                                append_unknown=append_unknown))
                    except BuildError:
                        built.append("BuildError")
    return built


def test_lazily_built_rules_build_the_urls_werkzeugs_rules_build():
    expected = _urls(Rule)
    assert len(expected) >= 40 and "BuildError" not in expected, "every case builds a URL"
    assert _urls(LazilyBuiltRule) == expected


def test_a_url_value_named_rule_is_a_query_parameter_on_the_first_build_too():
    rule = LazilyBuiltRule("/x/<name>", endpoint="x")
    Map([rule])
    assert rule.build({"name": "n", "rule": "r"}) == ("", "/x/n?rule=r")


def test_a_rule_compiles_its_builder_once_and_keeps_it(app):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "oidc.authorize")
    assert isinstance(rule, LazilyBuiltRule)
    with app.test_request_context():
        from flask import url_for

        first = url_for("oidc.authorize", realm_name="acme")
        kept = rule._build_unknown  # url_for appends unknown values as a query
        assert kept.__name__ != "build_on_first_use", "the first build compiled the builder and kept it"
        assert url_for("oidc.authorize", realm_name="acme") == first == "/realms/acme/authorize"
        assert rule._build_unknown is kept


@pytest.mark.parametrize("rule_class", [Rule, LazilyBuiltRule])
def test_matching_is_untouched(rule_class):
    urls = Map([rule_class("/realms/<realm_name>/users/<int:user_id>", endpoint="user")]).bind("idp.example")
    assert urls.match("/realms/acme/users/7") == ("user", {"realm_name": "acme", "user_id": 7})
