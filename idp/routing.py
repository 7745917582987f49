"""URL rules whose URL builders are compiled when first used, not when the rule is added."""
from __future__ import annotations

from werkzeug.routing import Rule


class LazilyBuiltRule(Rule):
    """Werkzeug compiles two URL builders for every rule as it is added, by generating Python
    source and compiling it: about 0.25 ms a rule, 60 ms for this app's ~250 rules, on every
    worker start and every app a test builds. Most rules are only ever matched, never built
    with ``url_for``; this one compiles a builder the first time it builds a URL and keeps it.

    Matching is untouched (the regexes and the state machine are built as before). If a future
    Werkzeug stops calling ``_compile_builder`` this class changes nothing; if it renames the
    attributes the builders live in, each build compiles its builder again: slower, never wrong."""

    def _compile_builder(self, append_unknown: bool = True):
        compile_now = super()._compile_builder
        attribute = "_build_unknown" if append_unknown else "_build"

        # positional-only: a URL value may be called anything, "rule" included (Werkzeug's own
        # builders name theirs ".self" for the same reason)
        def build_on_first_use(rule: Rule, /, **values):
            builder = compile_now(append_unknown).__get__(rule, None)
            setattr(rule, attribute, builder)
            return builder(**values)

        return build_on_first_use
