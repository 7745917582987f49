"""The realm settings of the account life cycle, as an operator sets them from the CLI."""
import json

import pytest


def test_new_realm_requires_no_verification_and_remembers_no_device(runner):
    created = runner("realms", "create", "shop", "--json")
    assert created.exit_code == 0, created.output
    realm = json.loads(created.stdout)
    assert (realm["require_email_verification"], realm["remember_device_days"]) == (False, 0)


def test_operator_turns_on_email_verification_and_remembered_devices(runner):
    runner("realms", "create", "shop")
    changed = runner("realms", "set", "shop", "--require-email-verification", "on", "--remember-device-days", "30",
                     "--json")
    assert changed.exit_code == 0, changed.output
    realm = json.loads(changed.stdout)
    assert (realm["require_email_verification"], realm["remember_device_days"]) == (True, 30)

    off = json.loads(runner("realms", "set", "shop", "--require-email-verification", "off",
                            "--remember-device-days", "0", "--json").stdout)
    assert (off["require_email_verification"], off["remember_device_days"]) == (False, 0)


@pytest.mark.parametrize("days", ["-1", "366"])
def test_remembered_devices_last_at_most_a_year(runner, days):
    runner("realms", "create", "shop")
    result = runner("realms", "set", "shop", "--remember-device-days", days)
    assert result.exit_code != 0
    assert "remember_device_days must be a number of days between 0 (off) and 365" in result.output


@pytest.mark.parametrize("value", [True, "30", 1.5])
def test_remember_device_days_must_be_a_whole_number(ctx, value):
    from idp.services import ServiceError
    from idp.services.realms import create_realm, update_realm

    realm = create_realm("shop")
    with pytest.raises(ServiceError, match="remember_device_days"):
        update_realm(realm, remember_device_days=value)


def test_require_email_verification_must_be_true_or_false(ctx):
    from idp.services import ServiceError
    from idp.services.realms import create_realm, update_realm

    realm = create_realm("shop")
    with pytest.raises(ServiceError, match="require_email_verification must be true or false"):
        update_realm(realm, require_email_verification="yes")
