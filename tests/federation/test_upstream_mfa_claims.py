"""What an upstream says about its own second factor (``amr``, ``acr``) never counts as ours:
``skip`` mode skips our MFA, ``require`` always runs it, and ``upstream`` mode lets only the
exact values its operator allowed stand in for it. Tokens say ``["fed"]`` plus what we checked."""
from __future__ import annotations

import pytest

from ..mfa.conftest import MASKED_PHONE, PHONE, logged_in_claims, text_of
from .conftest import corp_answer, hostile_answer, set_provider, through_upstream


@pytest.fixture
def victim(user_factory, in_app):
    """A user whose upstream identity is already linked and who holds a phone factor."""
    from idp.extensions import db
    from idp.models import FederatedIdentity
    from idp.services.realms import get_realm
    from idp.social.providers import get_provider

    setup = user_factory(phone=PHONE, with_recovery_codes=True)
    with in_app():
        provider = get_provider(get_realm("acme"), "hostile")
        db.session.add(FederatedIdentity(provider_id=provider.id, user_id=setup.id, subject="upstream-user-1",
                                         email=setup.email, email_verified=True))
        db.session.commit()
    return setup


def test_upstream_amr_mfa_does_not_satisfy_require_mode(realm, victim, hostile, browser, in_app, sms_code):
    set_provider("hostile", mfa_mode="require", in_app=in_app)
    hostile.claims.update(amr=["pwd", "mfa", "otp"], acr="urn:upstream:mfa")
    login = browser(realm)

    through_upstream(login, "hostile", hostile_answer)

    assert not login.redirected_to_app
    assert f"Enter the code we sent to {MASKED_PHONE}" in text_of(login.page)
    login.submit({"code": sms_code(PHONE)})
    claims = logged_in_claims(login)
    assert claims["amr"] == ["fed", "mfa", "sms"]
    assert claims["acr"] == "urn:idp:acr:mfa"


def test_upstream_amr_is_recorded_but_never_copied_into_our_tokens(realm, victim, hostile, browser, audit_events):
    hostile.claims.update(amr=["pwd", "mfa", "hwk"], acr="urn:upstream:loa3")
    login = browser(realm)

    through_upstream(login, "hostile", hostile_answer)

    claims = logged_in_claims(login)
    assert claims["amr"] == ["fed"]
    assert claims["acr"] == "urn:idp:acr:sfa"
    [event] = audit_events("login.federated")
    assert event["upstream_amr"] == ["pwd", "mfa", "hwk"] and event["upstream_acr"] == "urn:upstream:loa3"


@pytest.mark.parametrize("acr", ["no-multi-factor", "urn:mfa:not-really", "multifactor-ish"])
def test_acr_that_merely_mentions_mfa_does_not_satisfy_upstream_mode(realm, victim, hostile, browser, in_app, acr):
    set_provider("hostile", mfa_mode="upstream", in_app=in_app)
    hostile.claims.update(amr=["pwd"], acr=acr)
    login = browser(realm)

    through_upstream(login, "hostile", hostile_answer)

    assert "Enter the code we sent to" in text_of(login.page)


def test_upstream_mode_accepts_exactly_the_values_the_operator_allowed(realm, victim, hostile, browser, in_app):
    set_provider("hostile", mfa_mode="upstream", upstream_mfa_amr=[], upstream_mfa_acr=["https://corp/acr/mfa"],
                 in_app=in_app)
    hostile.claims.update(amr=["mfa"], acr="https://corp/acr/mfa-but-not")
    refused = browser(realm)
    through_upstream(refused, "hostile", hostile_answer)
    assert "Enter the code we sent to" in text_of(refused.page), "amr 'mfa' is not on this provider's list"

    hostile.claims.update(amr=["pwd"], acr="https://corp/acr/mfa")
    accepted = browser(realm)
    through_upstream(accepted, "hostile", hostile_answer)
    claims = logged_in_claims(accepted)
    assert claims["amr"] == ["fed"], "the upstream's second factor is not ours"
    assert claims["acr"] == "urn:idp:acr:mfa", "but the operator allowed it to stand for the class"


def test_session_of_an_upstream_mfa_login_does_not_pass_the_account_page_step_up(realm, victim, hostile, browser,
                                                                                 in_app):
    set_provider("hostile", mfa_mode="upstream", upstream_mfa_amr=["mfa"], in_app=in_app)
    hostile.claims.update(amr=["mfa"])
    login = browser(realm)
    through_upstream(login, "hostile", hostile_answer)
    assert login.redirected_to_app

    login.get("/realms/acme/account/factors/totp/setup")

    assert "Enter the code we sent to" in text_of(login.page), "changing factors needs our own second factor"


def test_upstream_mode_with_an_empty_allow_list_is_refused(realm, in_app):
    from idp.services import ServiceError

    with pytest.raises(ServiceError, match="at least one allowed amr or acr"):
        set_provider("hostile", mfa_mode="upstream", upstream_mfa_amr=[], upstream_mfa_acr=[], in_app=in_app)


def test_real_upstream_login_says_fed_not_the_upstreams_pwd(realm_factory, user_factory, corp, browser, in_app):
    """Against a real OpenID Connect upstream (another instance of this project), whose ID
    token says ``amr ["pwd"]``: our tokens say ``["fed"]``."""
    from .conftest import add_provider

    setup = realm_factory()
    add_provider("corp", issuer=corp.issuer, client_id=corp.client_id, client_secret=corp.client_secret,
                 in_app=in_app)
    login = browser(setup)

    through_upstream(login, "corp", corp_answer("alice@example.com"))

    claims = logged_in_claims(login)
    assert claims["amr"] == ["fed"] and claims["acr"] == "urn:idp:acr:sfa"
