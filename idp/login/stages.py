"""The login stages: the contract every stage fulfils, and the ordered registry of them.

A login transaction (``idp.login.transaction``) is advanced by an ordered list of stages:
password, MFA, email verification, consent, and whatever comes next (terms acceptance, a
forced password change). Each stage lives in its own package and registers itself from that
package's ``init_app``; ``idp.login`` knows none of them except its own password stage. The
order comes from configuration (``login.stage_order``), so an operator decides it and a new
stage cannot slip in unnoticed: every registered stage must be placed there, and every key
placed there must be registered, or start-up fails.

A stage in two parts, as in node-oidc-provider's interaction policy:

``check(txn) -> Prompt | None``
    Whether this login still needs the stage, and why. It only reads (no writes, no audit
    events, no cookies): it is asked again on every step and by ``prompt=none`` requests, which
    must not change anything. The ``Prompt``'s ``error`` is what a request that may not show
    pages (``prompt=none``) gets instead: ``login_required``, ``consent_required`` or
    ``interaction_required`` (OpenID Connect Core 3.1.2.6).

``url(txn) -> str``
    The page that runs the stage. The page marks the stage done (``complete_stage``) when it is.

``conclude(txn) -> None`` (optional)
    Called once for every registered stage when the whole login succeeded, before the session
    is created: the place for what a stage decided without a page and must record (a remembered
    device standing in for the second factor moves its ``last_used_at``).

A stage keeps its own state in the transaction under its key (``state_of`` / ``update_state_of``),
so two stages never collide on a name.

Example, a stage that asks users to accept the terms once::

    class TermsStage:
        key = "terms"

        def check(self, txn):
            if txn.user is not None and not txn.user.accepted_terms_at:
                return Prompt("terms_not_accepted")
            return None

        def url(self, txn):
            return url_for("terms.accept", realm_name=txn.realm.name, txn_id=txn.id)

    def init_app(app):
        register_stage(app, TermsStage())

and ``terms`` placed in ``login.stage_order``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from flask import current_app

if TYPE_CHECKING:
    from ..models import LoginTransaction

#: What ``prompt=none`` gets when a stage would have to show a page (OIDC Core 3.1.2.6).
LOGIN_REQUIRED = "login_required"
CONSENT_REQUIRED = "consent_required"
INTERACTION_REQUIRED = "interaction_required"
#: A stage that refuses the login outright (the user is not a member of the organization asked for).
ACCESS_DENIED = "access_denied"

_REGISTRY_KEY = "idp.login_stages"
_PENDING_KEY = "idp.login_stages.registered"


@dataclass(frozen=True)
class Prompt:
    """Why a stage must run: ``reason`` is a short code for tests and logs (``no_user``,
    ``mfa_required``, ``scopes_not_granted``), ``error`` the protocol error a login that may
    not prompt answers with."""

    reason: str
    error: str = INTERACTION_REQUIRED


@runtime_checkable
class Stage(Protocol):
    """One step of a login (see the module docstring)."""

    key: str

    def check(self, txn: LoginTransaction) -> Prompt | None: ...

    def url(self, txn: LoginTransaction) -> str: ...


class StageOrderError(Exception):
    """``login.stage_order`` and the registered stages do not match."""


def register_stage(app, stage: Stage) -> None:
    """Called from a stage package's ``init_app``. Registering a key twice is an error: two
    packages would otherwise fight over one transaction state."""
    if not isinstance(stage, Stage) or not stage.key:
        raise TypeError(f"{stage!r} is not a login stage (key, check, url)")
    registered = app.extensions.setdefault(_PENDING_KEY, {})
    if stage.key in registered:
        raise StageOrderError(f"login stage '{stage.key}' is registered twice")
    registered[stage.key] = stage


def order_stages(app, order: list[str], default: list[str] | None = None) -> list[Stage]:
    """Fix the order of the registered stages (``create_app``, after every ``init_app``).

    A stage the configured order leaves out is never skipped: it goes where ``default`` (the
    shipped order) puts it, right after the nearest stage before it there, and a warning says
    so. That keeps an operator's custom order working when an upgrade brings a new stage (the
    organization stage came that way); a stage missing from both orders stops start-up."""
    registered = dict(app.extensions.get(_PENDING_KEY, {}))
    unknown = [key for key in order if key not in registered]
    if unknown:
        raise StageOrderError(f"login.stage_order names stages that do not exist: {', '.join(unknown)} "
                              f"(registered: {', '.join(registered)})")
    if len(set(order)) != len(order):
        raise StageOrderError("login.stage_order names a stage twice")
    default = [key for key in (default or []) if key in registered]
    order = list(order)
    for key in [key for key in default if key not in order]:
        before = default[:default.index(key)]
        placed_before = [order.index(k) for k in before if k in order]
        order.insert(max(placed_before) + 1 if placed_before else 0, key)
        app.logger.warning("login.stage_order does not name the stage %r: it runs where the default order "
                           "puts it (%s)", key, " ".join(order))
    unplaced = [key for key in registered if key not in order]
    if unplaced:
        raise StageOrderError(f"login.stage_order does not place the stages {', '.join(unplaced)}")
    stages = [registered[key] for key in order]
    app.extensions[_REGISTRY_KEY] = stages
    return stages


def parse_stage_order(value: str) -> list[str]:
    """``"password, mfa, verify_email, consent"`` (commas or spaces) -> a list of keys."""
    return [key for key in value.replace(",", " ").split() if key]


def login_stages() -> list[Stage]:
    """The current app's stages, in their configured order."""
    return current_app.extensions[_REGISTRY_KEY]


def pending_prompt(txn: LoginTransaction) -> tuple[Stage, Prompt] | None:
    """The first stage not yet done that prompts, with its reason; None when the login is done."""
    done = set(txn.completed_stages or [])
    for stage in login_stages():
        if stage.key in done:
            continue
        prompt = stage.check(txn)
        if prompt is not None:
            return stage, prompt
    return None


def next_stage(txn: LoginTransaction) -> Stage | None:
    pending = pending_prompt(txn)
    return pending[0] if pending else None


def conclude_stages(txn: LoginTransaction) -> None:
    """Let each stage record what it decided without a page (see ``conclude``)."""
    for stage in login_stages():
        conclude = getattr(stage, "conclude", None)
        if conclude is not None:
            conclude(txn)


def state_of(txn: LoginTransaction, stage_key: str) -> dict:
    """The state a stage keeps in this transaction (a copy; change it with ``update_state_of``)."""
    return dict((txn.stage_state or {}).get(stage_key) or {})


def update_state_of(txn: LoginTransaction, stage_key: str, **values) -> None:
    state = dict(txn.stage_state or {})
    own = dict(state.get(stage_key) or {})
    own.update(values)
    state[stage_key] = own
    txn.stage_state = state
