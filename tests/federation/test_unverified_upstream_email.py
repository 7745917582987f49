"""Pre-account takeover: an upstream that does not assert ``email_verified`` never creates or
links an account for that address until the person opens a link we mail to it; a password
reset or an email verification ends links made without a proven address, and says so."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..helpers import PASSWORD, csrf_token
from ..mfa.conftest import PHONE, logged_in_claims, text_of
from .conftest import hostile_answer, links_of, through_upstream, user_row

CHECK_LINK = re.compile(r"https?://[^\s\"<>]+/social/check-email/[A-Za-z0-9_-]+")


def mailed_check_link(mailbox, to) -> str:
    message = mailbox.last(to, about="Confirm your email address")
    return CHECK_LINK.search(message["text"]).group(0)


def open_link(login, url):
    """Open the mailed link in ``login``'s browser and press its button."""
    path = urlsplit(url).path
    page = login.http.get(path)
    if page.status_code != 200:
        return page
    return login._follow(login.http.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True))}))


def test_unverified_upstream_email_creates_no_account_until_the_mailed_link_is_opened(realm, hostile, browser,
                                                                                      in_app, mailbox):
    hostile.claims.update(sub="new-9", email="newcomer@example.com", email_verified=False)
    login = browser(realm)

    through_upstream(login, "hostile", hostile_answer)

    assert "Check your inbox" in text_of(login.page)
    assert "n•••@example.com" in text_of(login.page)
    assert user_row(in_app, "newcomer@example.com") is None

    open_link(login, mailed_check_link(mailbox, "newcomer@example.com"))

    assert login.redirected_to_app
    user = user_row(in_app, "newcomer@example.com")
    assert logged_in_claims(login)["sub"] == user.id
    assert user.email_verified, "the mailed link proved the address"
    assert links_of(in_app, user.id) == [{"provider": "hostile", "subject": "new-9", "email_verified": True}]


def test_unverified_upstream_email_cannot_reach_an_existing_account(realm, user_factory, hostile, browser, in_app,
                                                                    mailbox):
    victim = user_factory()
    hostile.claims.update(sub="attacker-11", email=victim.email, email_verified=False)
    attacker = browser(realm)

    through_upstream(attacker, "hostile", hostile_answer)

    assert "Check your inbox" in text_of(attacker.page)
    assert links_of(in_app, victim.id) == []
    assert "If this was not you, ignore this email" in mailbox.last(victim.email)["text"]


def test_mailed_link_works_only_in_the_browser_of_that_login(realm, hostile, browser, in_app, mailbox):
    hostile.claims.update(sub="new-10", email="newcomer@example.com", email_verified=False)
    login = browser(realm)
    through_upstream(login, "hostile", hostile_answer)
    link = mailed_check_link(mailbox, "newcomer@example.com")

    elsewhere = browser(realm)
    response = elsewhere.http.get(urlsplit(link).path)

    assert response.status_code == 400
    assert "started in another browser" in text_of(response.get_data(as_text=True))
    assert user_row(in_app, "newcomer@example.com") is None


def test_a_forged_or_reused_link_does_nothing(realm, hostile, browser, in_app, mailbox):
    hostile.claims.update(sub="new-11", email="newcomer@example.com", email_verified=False)
    login = browser(realm)
    through_upstream(login, "hostile", hostile_answer)
    link = mailed_check_link(mailbox, "newcomer@example.com")

    forged = open_link(login, link[:-6] + "AAAAAA")
    assert forged.status_code == 400 and user_row(in_app, "newcomer@example.com") is None

    open_link(login, link)
    assert login.redirected_to_app


def test_resending_the_link_is_capped(realm, hostile, browser, mailbox):
    hostile.claims.update(sub="new-12", email="newcomer@example.com", email_verified=False)
    login = browser(realm)
    through_upstream(login, "hostile", hostile_answer)

    again = login.submit({})

    assert again.status_code == 429
    assert "Wait" in text_of(login.page)
    assert len(mailbox.messages("newcomer@example.com")) == 1


def _legacy_link(in_app, user_id, subject="attacker-12", email_verified=None):
    """A link as the previous version made it (nobody recorded whether its address was proven)."""
    from idp.extensions import db
    from idp.models import FederatedIdentity
    from idp.services.realms import get_realm
    from idp.social.providers import get_provider

    with in_app():
        provider = get_provider(get_realm("acme"), "hostile")
        db.session.add(FederatedIdentity(provider_id=provider.id, user_id=user_id, subject=subject,
                                         email="victim@example.com", email_verified=email_verified))
        db.session.commit()


def test_password_reset_removes_links_made_without_a_proven_address(realm, user_factory, browser, in_app, mailbox):
    from ..lifecycle.conftest import LINK_RE

    victim = user_factory("victim@example.com", phone=PHONE)
    _legacy_link(in_app, victim.id)
    _legacy_link(in_app, victim.id, subject="proven", email_verified=True)
    login = browser(realm)
    login.authorize()
    login.get(login.page_url + "/forgot-password")
    login.submit({"email": victim.email})
    link = LINK_RE.search(mailbox.last(victim.email, about="Reset")["text"]).group(0)

    reset = browser(realm)
    page = reset.http.get(urlsplit(link).path)
    reset.page, reset.page_url = page.get_data(as_text=True), urlsplit(link).path
    reset.submit({"password": "a new long passphrase"})

    assert [link["subject"] for link in links_of(in_app, victim.id)] == ["proven"]
    notice = mailbox.last(victim.email, about="no longer linked")
    assert "made without proving" in notice["text"]


def test_email_verification_removes_links_made_without_a_proven_address(realm, user_factory, in_app, app):
    from idp.extensions import db
    from idp.lifecycle import links, verification
    from idp.services.realms import get_realm
    from idp.services.users import find_user_by_email

    victim = user_factory("victim@example.com")
    _legacy_link(in_app, victim.id, email_verified=False)
    with app.test_request_context(), in_app():
        user = find_user_by_email(get_realm("acme"), victim.email)
        token = links.issue_link(user, links.VERIFY_EMAIL)
        db.session.commit()
        verification.verify_email_address(links.find_link(get_realm("acme"), token, links.VERIFY_EMAIL))
        db.session.commit()

    assert links_of(in_app, victim.id) == []


def test_passwordless_account_made_by_an_unverified_upstream_is_not_kept_by_it(realm, hostile, browser, in_app,
                                                                               mailbox, user_factory):
    """The pre-account takeover itself: the attacker opens the account first under the victim's
    address; with no mailed link opened, there is no account and nothing to take over."""
    hostile.claims.update(sub="attacker-13", email="victim@example.com", email_verified=False)
    attacker = browser(realm)
    through_upstream(attacker, "hostile", hostile_answer)

    assert user_row(in_app, "victim@example.com") is None
    victim = user_factory("victim@example.com")
    owner = browser(realm)
    owner.authorize()
    owner.log_in(victim.email, PASSWORD)
    assert owner.redirected_to_app
    assert links_of(in_app, victim.id) == []


def test_an_upstream_account_cannot_flood_an_inbox_through_many_logins(realm, hostile, browser, mailbox):
    hostile.claims.update(sub="attacker-14", email="victim@example.com", email_verified=False)
    for _ in range(3):
        login = browser(realm)
        through_upstream(login, "hostile", hostile_answer)
        assert "Check your inbox" in text_of(login.page)

    assert len(mailbox.messages("victim@example.com")) == 1, "one mail a minute per address"


def test_email_verified_of_an_untrusted_provider_proves_nothing(realm, hostile, browser, in_app, user_factory):
    """Keycloak's "Trust Email" off (the default for a generic OpenID Connect provider): the
    upstream saying ``email_verified: true`` does not create, or link, anything by itself."""
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.social.providers import get_provider, set_provider_trust_email

    with in_app():
        set_provider_trust_email(get_provider(get_realm("acme"), "hostile"), False)
        db.session.commit()
    owner = user_factory("owner@example.com")
    hostile.claims.update(sub="attacker-15", email=owner.email, email_verified=True)
    login = browser(realm)

    through_upstream(login, "hostile", hostile_answer)

    assert "Check your inbox" in text_of(login.page)
    assert links_of(in_app, owner.id) == []


def test_new_providers_trust_email_only_where_the_kind_verifies_addresses(runner):
    import json

    assert runner("realms", "create", "shop").exit_code == 0
    for kind, extra in [("google", []), ("microsoft", []), ("github", []),
                        ("oidc", ["--issuer", "https://sso.example.com"])]:
        result = runner("providers", "add", "--realm", "shop", "--kind", kind, "--name", kind, "--client-id", "c",
                        *extra)
        assert result.exit_code == 0, result.output
    listed = {p["name"]: p["trust_email"] for p in json.loads(runner("providers", "list", "--realm", "shop",
                                                                      "--json").output)}
    assert listed == {"google": True, "microsoft": False, "github": True, "oidc": False}
    changed = runner("providers", "set", "oidc", "--realm", "shop", "--trust-email", "on")
    assert changed.exit_code == 0 and "trust email on" in changed.output


def test_a_squatters_pending_registration_is_taken_over_by_the_proven_owner(realm, hostile, browser, in_app,
                                                                            mailbox):
    """Someone registers the owner's address with a password of their own and never verifies
    it; the owner then arrives through an upstream with the address proven. The account is the
    owner's, without the squatter's password."""
    squatter = browser(realm)
    squatter.authorize()
    squatter.register("owner@example.com", "squatters passphrase")
    mailbox.messages()
    assert user_row(in_app, "owner@example.com").registration_pending

    hostile.claims.update(sub="owner-3", email="owner@example.com", email_verified=True)
    owner = browser(realm)
    through_upstream(owner, "hostile", hostile_answer)

    assert owner.redirected_to_app
    user = user_row(in_app, "owner@example.com")
    assert user.email_verified and not user.registration_pending and user.password_hash is None
    again = browser(realm)
    again.authorize()
    again.log_in("owner@example.com", "squatters passphrase")
    assert not again.redirected_to_app
