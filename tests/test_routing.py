"""URL rules compile their URL builders on first use (``idp/routing.py``) and build exactly
the URLs Werkzeug's own rules build."""
from werkzeug.routing import Map, Rule

from idp.routing import LazilyBuiltRule

RULES = [
    ("/realms/<realm_name>/authorize", {}),
    ("/realms/<realm_name>/users/<int:user_id>", {}),
    ("/themes/<theme>/static/<path:filename>", {}),
    ("/account", {"page": "overview"}),
]
VALUES = [
    {"realm_name": "acme"},
    {"realm_name": "a c/mé", "prompt": "login consent", "ui_locales": ["fr", "en"]},
    {"realm_name": "acme", "user_id": 7},
    {"theme": "forest", "filename": "css/site one.css"},
    {"page": "overview"},
    {"page": "overview", "next": "/x?y=1"},
]


def _urls(rule_class):
    urls = Map([rule_class(rule, endpoint=rule, defaults=defaults or None) for rule, defaults in RULES]
               ).bind("idp.example", "/")
    built = []
    for rule, _ in RULES:
        for values in VALUES:
            for external in (False, True):
                try:
                    built.append(urls.build(rule, values, force_external=external))
                except Exception as refused:  # a value the rule lacks: the same refusal either way
                    built.append(type(refused).__name__)
    return built


def test_lazily_built_rules_build_the_urls_werkzeugs_rules_build():
    assert _urls(LazilyBuiltRule) == _urls(Rule)


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
