"""The login stages: each registered stage keeps the contract of ``idp.login.stages`` (a pure
check that says why it prompts, a page), and the order comes from configuration."""
from __future__ import annotations

import pytest

from idp.config import ConfigError
from idp.login.stages import Prompt, Stage, login_stages


def test_the_default_order_is_password_mfa_email_verification_organization_consent(ctx):
    assert [stage.key for stage in login_stages()] == ["password", "mfa", "verify_email", "organization", "consent"]


def test_every_registered_stage_keeps_the_stage_contract(ctx):
    for stage in login_stages():
        assert isinstance(stage, Stage)
        assert stage.key and callable(stage.check) and callable(stage.url)


@pytest.mark.parametrize("order, message", [
    ("password mfa verify_email consent terms", "do not exist: terms"),
    ("password mfa mfa verify_email consent", "twice"),
])
def test_an_operator_who_misplaces_a_stage_is_stopped_at_start_up(make_app, order, message):
    with pytest.raises(ConfigError, match=message):
        make_app(login={"stage_order": order})


def test_a_custom_order_from_before_a_new_stage_existed_runs_it_where_the_default_puts_it(make_app, caplog):
    """An upgrade that brings a stage (organization did) must not stop an operator's server, nor
    skip the stage: it slots in after its predecessor in the default order."""
    app = make_app(login={"stage_order": "password consent mfa"})
    with app.app_context():
        assert [stage.key for stage in login_stages()] == ["password", "consent", "mfa", "verify_email",
                                                           "organization"]
    assert "does not name the stage 'verify_email'" in caplog.text


def test_an_operator_may_put_consent_before_the_second_factor(make_app):
    app = make_app(login={"stage_order": "password, consent, mfa, verify_email, organization"})
    with app.app_context():
        assert [stage.key for stage in login_stages()] == ["password", "consent", "mfa", "verify_email",
                                                           "organization"]


def test_a_check_only_reads_and_says_why_it_prompts(ctx, factory):
    """Asking every stage about a login writes nothing: ``prompt=none`` and each page ask again."""
    from idp.extensions import db
    from idp.login.transaction import begin_transaction

    realm = factory.realm()
    from idp.services.clients import find_client

    client = find_client(realm, factory.client(realm)[0])
    with ctx.test_request_context():
        txn, _binding = begin_transaction(realm, client, {"client_id": client.client_id, "scope": "openid",
                                                          "prompt": "consent"})
        before = (dict(txn.stage_state), list(txn.completed_stages), txn.status)
        prompts = {stage.key: stage.check(txn) for stage in login_stages()}
    assert not db.session.dirty and not db.session.new
    assert (dict(txn.stage_state), list(txn.completed_stages), txn.status) == before
    assert prompts["password"] == Prompt("no_user", "login_required")
    assert prompts["consent"] == Prompt("consent_requested", "consent_required")
