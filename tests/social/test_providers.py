"""Operators configure upstream providers from the CLI; the per-provider MFA mode decides
whether our second factor runs after a federated login."""
import pytest

from .conftest import link_as_before
from .test_federated_login import return_from_upstream, start_federated_login


def test_operator_adds_lists_disables_and_removes_a_provider(runner):
    assert runner("realms", "create", "shop").exit_code == 0
    added = runner("providers", "add", "--realm", "shop", "--kind", "google", "--name", "google",
                   "--client-id", "abc", "--client-secret", "s3cret", "--mfa-mode", "upstream")
    assert added.exit_code == 0, added.output
    assert "/realms/shop/social/callback" in added.output
    listed = runner("providers", "list", "--realm", "shop", "--json")
    assert '"issuer": "https://accounts.google.com"' in listed.output
    assert "s3cret" not in listed.output
    assert runner("providers", "disable", "--realm", "shop", "google").exit_code == 0
    assert '"enabled": false' in runner("providers", "list", "--realm", "shop", "--json").output
    assert runner("providers", "remove", "--realm", "shop", "google").exit_code == 0
    assert runner("providers", "list", "--realm", "shop", "--json").output.strip() == "[]"


@pytest.mark.parametrize("command", [
    ["add", "--kind", "google", "--name", "google2", "--client-id", "abc"],
    ["disable", "google"],
    ["remove", "google"],
], ids=["add", "disable", "remove"])
def test_providers_cli_does_not_report_success_when_the_database_refuses_the_change(runner, monkeypatch, command):
    """The command used to print "added ..." and only then commit: a refused commit left the
    operator believing in a provider that did not exist."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    assert runner("realms", "create", "shop").exit_code == 0
    assert runner("providers", "add", "--realm", "shop", "--kind", "google", "--name", "google",
                  "--client-id", "abc").exit_code == 0
    before = runner("providers", "list", "--realm", "shop", "--json").output

    def refused(self):
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Session, "commit", refused)
    result = runner("providers", command[0], "--realm", "shop", *command[1:])
    monkeypatch.undo()

    assert result.exit_code != 0
    assert result.stdout == ""
    assert "Error: nothing was saved" in result.stderr and "disk I/O error" in result.stderr
    assert "Traceback" not in result.output
    assert runner("providers", "list", "--realm", "shop", "--json").output == before


@pytest.mark.parametrize("args, message", [
    (["--kind", "oidc", "--name", "x", "--client-id", "c"], "--issuer must be an https URL"),
    (["--kind", "oidc", "--name", "x", "--client-id", "c", "--issuer", "http://idp.example.com"], "https"),
    (["--kind", "oidc", "--name", "Bad Name", "--client-id", "c", "--issuer", "https://a.example"], "lowercase"),
    (["--kind", "myspace", "--name", "x", "--client-id", "c"], "Invalid value for '--kind'"),
])
def test_bad_provider_settings_are_refused_in_one_line(runner, args, message):
    result = runner("providers", "add", *args)
    assert result.exit_code != 0
    assert message in result.output


def test_require_mode_runs_our_mfa_after_a_federated_login(client, factory, acme, upstream, instance_path):
    from idp.extensions import db
    from idp.mfa.sms import admin_set_phone
    from idp.services.mfa_users import admin_set_mfa
    from idp.social.providers import get_provider

    get_provider(acme, "corp").mfa_mode = "require"
    local = factory.user(acme, email="bob@corp.example", email_verified=True)
    admin_set_phone(local, "+14155550100")
    admin_set_mfa(local, True)
    db.session.commit()
    link_as_before(acme, local, upstream, "bob@corp.example")
    login, location = start_federated_login(client, factory, acme, upstream)
    return_from_upstream(login, location)
    assert not login.redirected_to_app
    assert "Enter the code we sent to" in login.page


def test_upstream_mode_runs_our_mfa_when_the_upstream_did_not(client, factory, acme, upstream):
    from idp.extensions import db
    from idp.mfa.sms import admin_set_phone
    from idp.services.mfa_users import admin_set_mfa
    from idp.social.providers import get_provider, set_provider_mfa

    set_provider_mfa(get_provider(acme, "corp"), mfa_mode="upstream")
    local = factory.user(acme, email="bob@corp.example", email_verified=True)
    admin_set_phone(local, "+14155550100")
    admin_set_mfa(local, True)
    db.session.commit()
    link_as_before(acme, local, upstream, "bob@corp.example")
    login, location = start_federated_login(client, factory, acme, upstream)
    return_from_upstream(login, location)
    assert "Enter the code we sent to" in login.page, "the upstream's amr was only ['pwd']"


def test_operator_sets_the_exact_upstream_values_that_count_as_mfa(runner):
    assert runner("realms", "create", "shop").exit_code == 0
    added = runner("providers", "add", "--realm", "shop", "--kind", "oidc", "--name", "corp", "--client-id", "c",
                   "--issuer", "https://sso.corp.example", "--mfa-mode", "upstream")
    assert added.exit_code == 0, added.output
    listed = runner("providers", "list", "--realm", "shop", "--json").output
    assert '"upstream_mfa_amr": [\n      "mfa"\n    ]' in listed, "upstream mode starts with RFC 8176's 'mfa'"

    changed = runner("providers", "set", "corp", "--realm", "shop", "--clear-upstream-mfa",
                     "--upstream-mfa-acr", "http://schemas.openid.net/pape/policies/2007/06/multi-factor")
    assert changed.exit_code == 0, changed.output
    assert "allowed upstream amr -" in changed.output
    assert "multi-factor" in changed.output

    emptied = runner("providers", "set", "corp", "--realm", "shop", "--clear-upstream-mfa")
    assert emptied.exit_code != 0
    assert "upstream mode needs at least one allowed amr or acr value" in emptied.output
    bad = runner("providers", "set", "corp", "--realm", "shop", "--upstream-mfa-amr", "two words")
    assert bad.exit_code != 0 and "not a valid amr/acr value" in bad.output
    assert runner("providers", "set", "corp", "--realm", "shop", "--mfa-mode", "require").exit_code == 0
