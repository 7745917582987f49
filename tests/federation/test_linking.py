"""When an upstream identity may be linked to an existing account: never before the whole
login (MFA included) has succeeded, and never to an account with a second factor without that
account's password and second factor once. After that, the provider's mode applies."""
from __future__ import annotations

from ..helpers import PASSWORD
from ..mfa.conftest import PHONE, logged_in_claims, text_of
from .conftest import corp_answer, hostile_answer, links_of, through_upstream, user_row


def _sessions_of(in_app, user_id) -> int:
    from idp.extensions import db
    from idp.models import BrowserSession

    with in_app():
        return db.session.scalar(db.select(db.func.count(BrowserSession.id)).filter_by(user_id=user_id))


def test_link_waits_until_the_second_factor_succeeds(realm, user_factory, hostile, browser, in_app, sms_code):
    """The attacker knows the victim's password and controls an upstream account claiming the
    victim's address; they give the password, then abandon the MFA page."""
    victim = user_factory(phone=PHONE, with_recovery_codes=True)
    hostile.claims.update(sub="attacker-7", email=victim.email, email_verified=True)
    attacker = browser(realm)
    through_upstream(attacker, "hostile", hostile_answer)
    assert "Log in with its password once to link" in text_of(attacker.page)

    attacker.log_in(victim.email, PASSWORD)

    assert "Enter the code we sent to" in text_of(attacker.page)
    assert links_of(in_app, victim.id) == [], "no link before the second factor"
    assert _sessions_of(in_app, victim.id) == 0
    assert user_row(in_app, victim.email).last_login_at is None

    # the attacker comes back through the upstream: still nothing links, still the password page
    again = browser(realm)
    through_upstream(again, "hostile", hostile_answer)
    assert not again.redirected_to_app
    assert "Log in with its password once to link" in text_of(again.page)


def test_owner_links_with_password_and_second_factor_then_skip_mode_applies(realm, user_factory, hostile, browser,
                                                                            in_app, sms_code, mailbox):
    owner = user_factory(phone=PHONE, with_recovery_codes=True)
    hostile.claims.update(sub="owner-upstream", email=owner.email, email_verified=True)
    login = browser(realm)
    through_upstream(login, "hostile", hostile_answer)
    login.log_in(owner.email, PASSWORD)
    login.submit({"code": sms_code(PHONE)})
    assert logged_in_claims(login)["amr"] == ["pwd", "mfa", "sms"]
    assert links_of(in_app, owner.id) == [{"provider": "hostile", "subject": "owner-upstream", "email_verified": True}]
    assert "Acme: A Hostile account was linked to your account" in mailbox.subjects(owner.email)

    later = browser(realm)
    through_upstream(later, "hostile", hostile_answer)

    assert later.redirected_to_app, "skip mode: no MFA of ours after the link is made"
    assert logged_in_claims(later)["amr"] == ["fed"]


def test_verified_email_does_not_link_an_account_with_mfa_by_itself(realm, user_factory, hostile, browser, in_app):
    victim = user_factory(with_totp=True, with_recovery_codes=True)
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import find_user_by_email

    with in_app():
        find_user_by_email(get_realm("acme"), victim.email).email_verified = True
        db.session.commit()
    hostile.claims.update(sub="attacker-8", email=victim.email, email_verified=True)
    login = browser(realm)

    through_upstream(login, "hostile", hostile_answer)

    assert not login.redirected_to_app
    assert "Log in with its password once to link" in text_of(login.page)
    assert links_of(in_app, victim.id) == []


def test_password_alone_does_not_link_even_where_the_login_form_skips_mfa(realm_factory, user_factory, hostile,
                                                                          browser, in_app, sms_code):
    """The realm's login form does not ask for MFA, but linking to an account that holds a
    factor still needs it once."""
    from .conftest import add_provider

    setup = realm_factory(mfa_login_form=False)
    add_provider("hostile", issuer=hostile.issuer, client_id=hostile.client_id,
                 client_secret=hostile.client_secret, in_app=in_app)
    victim = user_factory(phone=PHONE, with_recovery_codes=True)
    hostile.claims.update(sub="attacker-9", email=victim.email, email_verified=True)
    login = browser(setup)
    through_upstream(login, "hostile", hostile_answer)
    login.log_in(victim.email, PASSWORD)

    assert "Enter the code we sent to" in text_of(login.page)
    assert links_of(in_app, victim.id) == []
    login.submit({"code": sms_code(PHONE)})
    assert login.redirected_to_app
    assert [link["subject"] for link in links_of(in_app, victim.id)] == ["attacker-9"]


def test_account_without_mfa_and_verified_email_links_at_once(realm, user_factory, hostile, browser, in_app):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import find_user_by_email

    owner = user_factory()
    with in_app():
        find_user_by_email(get_realm("acme"), owner.email).email_verified = True
        db.session.commit()
    hostile.claims.update(sub="owner-2", email=owner.email, email_verified=True)
    login = browser(realm)

    through_upstream(login, "hostile", hostile_answer)

    assert login.redirected_to_app
    assert logged_in_claims(login)["sub"] == owner.id
    assert [link["subject"] for link in links_of(in_app, owner.id)] == ["owner-2"]


def test_logging_in_to_another_account_drops_the_link_request(realm, user_factory, hostile, browser, in_app):
    victim = user_factory(phone=PHONE)
    other = user_factory("bob@example.com")
    hostile.claims.update(sub="attacker-10", email=victim.email, email_verified=True)
    login = browser(realm)
    through_upstream(login, "hostile", hostile_answer)

    login.log_in(other.email, PASSWORD)

    assert login.redirected_to_app
    assert links_of(in_app, victim.id) == [] and links_of(in_app, other.id) == []


def test_real_upstream_link_is_made_only_after_our_mfa(realm_factory, user_factory, corp, browser, in_app, sms_code):
    """The same rule against a real upstream (another instance of this project)."""
    from .conftest import add_provider

    setup = realm_factory()
    add_provider("corp", issuer=corp.issuer, client_id=corp.client_id, client_secret=corp.client_secret,
                 in_app=in_app)
    owner = user_factory(phone=PHONE, with_recovery_codes=True)
    login = browser(setup)
    through_upstream(login, "corp", corp_answer("alice@example.com"))
    login.log_in(owner.email, PASSWORD)
    assert links_of(in_app, owner.id) == []

    login.submit({"code": sms_code(PHONE)})

    assert login.redirected_to_app
    assert [link["provider"] for link in links_of(in_app, owner.id)] == ["corp"]
