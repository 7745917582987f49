"""A third-party app asks for consent once: the provider remembers what the user allowed, asks
again only for more (or when the app says ``prompt=consent``), and the account page takes the
access back, ending the app's tokens."""
from __future__ import annotations

import re

import pytest
import requests

from ..helpers import PASSWORD, absolute, query_params
from ..mfa.conftest import text_of
from .conftest import EMAIL, Browser, RelyingApp
from .rp_app import CALLBACK_URL, create_rp_app

ALLOW_PAGE = "Allow Photo Printer to access your account?"
REMOVE_ACCESS_RE = re.compile(r'action="([^"]*/account/apps/(\d+)/remove)"')
TOKEN_RE = re.compile(r'name="([^"]*csrf_token)"[^>]*value="([^"]+)"')


@pytest.fixture
def printer(provider):
    """A third-party app, "Photo Printer"; ``printer(scope=...)`` is that app asking for
    ``scope``."""
    client_id, secret = provider.client(first_party=False, name="Photo Printer")

    def app(scope: str = "openid profile email offline_access") -> RelyingApp:
        return RelyingApp(create_rp_app(provider.issuer, client_id, secret, scope=scope), client_id, secret)

    return app


def sign_in(browser, rp, *, email=EMAIL, **params):
    """Start the app's login and log in when the provider asks; returns where the browser ended."""
    landing = browser.open(rp.start_login(**params))
    if landing.left_to is None and "Log in" in landing.page:
        landing = browser.log_in(landing, email, PASSWORD)
    return landing


def asks_for_consent(landing) -> bool:
    return landing.left_to is None and ALLOW_PAGE in text_of(landing.page)


def allow(browser, rp, landing) -> dict:
    assert asks_for_consent(landing), landing.page[:500]
    landing = browser.submit(landing, {"decision": "allow"})
    assert landing.left_to and landing.left_to.startswith(CALLBACK_URL), landing.page[:500]
    return rp.finish_login(landing.left_to)


def stored_consents(client_id=None):
    from idp.extensions import db
    from idp.models import Consent

    db.session.expire_all()
    query = db.select(Consent).order_by(Consent.id)
    if client_id is not None:
        query = query.filter_by(client_id=client_id)
    return db.session.scalars(query).all()


def introspect(provider, rp, token: str) -> dict:
    response = provider.oauth_session(rp.client_id, rp.client_secret).introspect_token(
        provider.url("introspect"), token=token)
    assert response.status_code == 200, response.text
    return response.json()


# --- remembering ---------------------------------------------------------------------------

def test_second_login_to_a_third_party_app_skips_the_consent_page(provider, browser, printer):
    rp = printer()
    allow(browser, rp, sign_in(browser, rp))

    again = sign_in(browser, rp)
    assert again.left_to and again.left_to.startswith(CALLBACK_URL), "same browser: straight back to the app"
    assert rp.finish_login(again.left_to)["userinfo"]["email"] == EMAIL

    with Browser(provider.server.url) as other_browser:
        elsewhere = sign_in(other_browser, rp)
        assert elsewhere.left_to and elsewhere.left_to.startswith(CALLBACK_URL), "another browser: password only"

    [consent] = stored_consents(rp.client_id)
    assert consent.scopes == ["email", "offline_access", "openid", "profile"]


def test_asking_for_a_wider_scope_asks_again_and_widens_the_stored_grant(provider, browser, printer):
    narrow = printer(scope="openid profile")
    allow(browser, narrow, sign_in(browser, narrow))
    assert stored_consents(narrow.client_id)[0].scopes == ["openid", "profile"]

    wide = printer(scope="openid profile email")
    landing = sign_in(browser, wide)
    assert asks_for_consent(landing)
    assert "See your email address" in text_of(landing.page)
    result = allow(browser, wide, landing)
    assert result["userinfo"]["email"] == EMAIL

    [consent] = stored_consents(wide.client_id)
    assert consent.scopes == ["email", "openid", "profile"]
    assert consent.updated_at >= consent.granted_at
    assert sign_in(browser, narrow).left_to, "a narrower request is covered by the wider grant"


def test_prompt_consent_always_asks(browser, printer):
    rp = printer()
    allow(browser, rp, sign_in(browser, rp))

    landing = sign_in(browser, rp, prompt="consent")
    assert asks_for_consent(landing)
    allow(browser, rp, landing)
    assert len(stored_consents(rp.client_id)) == 1


def test_prompt_none_needs_consent_once_and_then_succeeds(browser, relying_app, printer):
    relying_app().log_in(browser)
    rp = printer()

    before = sign_in(browser, rp, prompt="none")
    assert query_params(before.left_to)["error"] == "consent_required"

    allow(browser, rp, sign_in(browser, rp))
    after = sign_in(browser, rp, prompt="none")
    assert "code" in query_params(after.left_to)
    assert rp.finish_login(after.left_to)["userinfo"]["email"] == EMAIL


def test_first_party_apps_ask_nothing_and_remember_nothing(browser, relying_app):
    rp = relying_app()
    rp.log_in(browser)
    landing = sign_in(browser, rp, prompt="consent")
    assert "Allow Test App to access your account?" in text_of(landing.page)
    browser.submit(landing, {"decision": "allow"})
    assert stored_consents() == []


# --- not remembering -----------------------------------------------------------------------

def test_denying_records_nothing_and_the_next_login_asks_again(browser, printer):
    rp = printer()
    landing = sign_in(browser, rp)
    denied = browser.submit(landing, {"decision": "deny"})
    assert query_params(denied.left_to)["error"] == "access_denied"
    assert stored_consents() == []

    assert asks_for_consent(sign_in(browser, rp))


def test_another_users_consent_does_not_count(provider, browser, printer):
    provider.factory.user(provider.realm, email="bob@example.com")
    rp = printer()
    allow(browser, rp, sign_in(browser, rp))

    with Browser(provider.server.url) as bobs_browser:
        assert asks_for_consent(sign_in(bobs_browser, rp, email="bob@example.com"))


def test_deleting_the_user_deletes_their_consents(provider, browser, printer):
    from idp.extensions import db
    from idp.models import User
    from idp.services.users import delete_user

    rp = printer()
    allow(browser, rp, sign_in(browser, rp))
    assert len(stored_consents()) == 1

    delete_user(db.session.scalar(db.select(User).filter_by(email=EMAIL)))
    db.session.commit()
    assert stored_consents() == []


def test_deleting_the_app_deletes_its_consents(provider, browser, printer):
    from idp.extensions import db
    from idp.services.clients import delete_client, get_client

    rp = printer()
    allow(browser, rp, sign_in(browser, rp))

    delete_client(get_client(provider.realm, rp.client_id))
    db.session.commit()
    assert stored_consents() == []


# --- the account page ----------------------------------------------------------------------

def account_page(provider, browser):
    return browser.open(provider.url("account"))


def remove_access(browser, page_landing) -> requests.Response:
    page = page_landing.page
    url, consent_id = REMOVE_ACCESS_RE.search(page).groups()
    prefix = f"c{consent_id}"
    token = next(value for name, value in TOKEN_RE.findall(page) if name == f"{prefix}-csrf_token")
    return browser.http.post(absolute(page_landing.response.url, url), data={f"{prefix}-csrf_token": token},
                             allow_redirects=False)


def test_account_page_lists_allowed_apps_and_removing_access_ends_their_tokens(provider, browser, printer):
    from idp.extensions import db
    from idp.models import AuditEvent

    rp = printer()
    token = allow(browser, rp, sign_in(browser, rp))["token"]
    assert introspect(provider, rp, token["access_token"])["active"] is True

    page = account_page(provider, browser)
    words = text_of(page.page)
    assert "Apps you have allowed" in words
    assert "Photo Printer" in words
    assert "Know who you are · See your name · See your email address · Stay signed in when you are not using it" in words

    response = remove_access(browser, page)
    assert response.status_code == 302
    after = account_page(provider, browser)
    assert "Photo Printer can no longer access your account." in text_of(after.page)
    assert "Apps you have allowed" not in text_of(after.page)

    assert introspect(provider, rp, token["access_token"])["active"] is False
    assert introspect(provider, rp, token["refresh_token"])["active"] is False
    assert stored_consents() == []
    db.session.expire_all()
    assert db.session.scalar(db.select(AuditEvent).filter_by(event_type="consent.revoked")).details == {
        "client_id": rp.client_id, "tokens_revoked": 1}

    assert asks_for_consent(sign_in(browser, rp)), "the next login asks again"


def test_removing_access_keeps_other_apps_tokens(provider, browser, printer, relying_app):
    first_party = relying_app()
    other_token = first_party.log_in(browser)["token"]
    rp = printer()
    allow(browser, rp, sign_in(browser, rp))

    remove_access(browser, account_page(provider, browser))

    assert introspect(provider, first_party, other_token["access_token"])["active"] is True


def test_account_page_shows_no_apps_section_without_consents(provider, browser, relying_app):
    relying_app().log_in(browser)
    assert "Apps you have allowed" not in text_of(account_page(provider, browser).page)


def test_removing_access_needs_the_csrf_token_and_ones_own_consent(provider, browser, printer):
    rp = printer()
    allow(browser, rp, sign_in(browser, rp))
    page = account_page(provider, browser)
    url, consent_id = REMOVE_ACCESS_RE.search(page.page).groups()

    browser.http.post(absolute(page.response.url, url), data={}, allow_redirects=False)
    assert len(stored_consents()) == 1, "no CSRF token: nothing removed"

    provider.factory.user(provider.realm, email="bob@example.com")
    with Browser(provider.server.url) as bobs_browser:
        allow(bobs_browser, rp, sign_in(bobs_browser, rp, email="bob@example.com"))
        bobs_page = account_page(provider, bobs_browser)
        token = TOKEN_RE.search(bobs_page.page).group(2)
        response = bobs_browser.http.post(absolute(page.response.url, url),
                                          data={f"c{consent_id}-csrf_token": token}, allow_redirects=False)
        assert response.status_code == 404
    assert len(stored_consents()) == 2, "alice's and bob's consents both stay"


def test_account_page_lists_allowed_apps_in_french(provider, browser, printer):
    rp = printer(scope="openid email")
    allow(browser, rp, sign_in(browser, rp))

    words = text_of(browser.open(provider.url("account"), ui_locales="fr").page)
    assert "Applications que vous avez autorisées" in words
    assert "Savoir qui vous êtes · Voir votre adresse e-mail" in words
    assert "Retirer l’accès" in words


def test_the_consent_page_lists_only_the_scopes_the_app_may_receive(provider, browser):
    from idp.extensions import db
    from idp.services.clients import get_client

    client_id, secret = provider.client(first_party=False, name="Photo Printer")
    client = get_client(provider.realm, client_id)
    client.scope = "openid profile"
    db.session.commit()
    rp = RelyingApp(create_rp_app(provider.issuer, client_id, secret, scope="openid email offline_access"),
                    client_id, secret)

    landing = sign_in(browser, rp)

    page = text_of(landing.page)
    assert asks_for_consent(landing)
    assert "Know who you are" in page
    assert "See your email address" not in page and "Stay signed in" not in page
