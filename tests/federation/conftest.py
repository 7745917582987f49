"""Federated logins as an attacker would try them: a hostile upstream whose ID-token claims the
test chooses (``scripted_upstream``), a real upstream (a second instance of this project), a
second browser, and the victim's own account with its second factor.

The fixtures of the MFA and life-cycle suites (realms, users enrolled the product's ways,
browsers, the mailbox) are shared, so a victim here is enrolled exactly as there."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from ..helpers import PASSWORD, csrf_token
from ..lifecycle import conftest as lifecycle_fixtures
from ..mfa import conftest as mfa_fixtures
from ..mfa.conftest import login_url
from ..social.conftest import DOWNSTREAM_CALLBACK, start_upstream, stop_upstream
from ..social.scripted_upstream import ScriptedUpstream

mfa_settings = mfa_fixtures.mfa_settings
app = mfa_fixtures.app
in_app = mfa_fixtures.in_app
realm_factory = mfa_fixtures.realm_factory
user_factory = mfa_fixtures.user_factory
browser = mfa_fixtures.browser
sms_code = mfa_fixtures.sms_code
mailbox = lifecycle_fixtures.mailbox
audit_events = lifecycle_fixtures.audit_events


@pytest.fixture
def hostile():
    upstream = ScriptedUpstream()
    yield upstream
    upstream.stop()
    from idp.social import upstream as upstream_module

    upstream_module._metadata_cache.clear()


@pytest.fixture
def corp(tmp_path, migrated_instance):
    """A real upstream: another instance of this project, realm ``corp``."""
    live = start_upstream(tmp_path / "upstream-instance", migrated_instance, DOWNSTREAM_CALLBACK,
                          [("alice@example.com", True), ("eve@example.com", False)])
    yield live
    stop_upstream(live)


@pytest.fixture
def realm(realm_factory, in_app, hostile):
    """Realm ``acme`` (SMS MFA on, as the seed sets it up) with the hostile upstream as provider
    ``hostile`` (mode ``skip``, the default)."""
    setup = realm_factory()
    add_provider("hostile", issuer=hostile.issuer, client_id=hostile.client_id,
                 client_secret=hostile.client_secret, in_app=in_app)
    return setup


def add_provider(name, *, in_app, realm="acme", **settings):
    """An OpenID Connect provider whose ``email_verified`` the operator trusts, unless the test
    says ``trust_email=False``."""
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.social.providers import add_provider as add

    with in_app():
        add(get_realm(realm), kind="oidc", name=name, display_name=name.title(), **{"trust_email": True, **settings})
        db.session.commit()


def set_provider(name, *, in_app, realm="acme", **changes):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.social.providers import get_provider, set_provider_mfa

    with in_app():
        set_provider_mfa(get_provider(get_realm(realm), name), **changes)
        db.session.commit()


def through_upstream(login, provider: str, answer_upstream):
    """Start ``login`` at the app, click "Continue with <provider>", let ``answer_upstream(url)``
    play the upstream (it returns the upstream's redirect back to us) and follow it."""
    if login.page_url is None:
        login.authorize()
    to_upstream = login.http.get(login_url(login, f"/social/{provider}"))
    assert to_upstream.status_code == 302, to_upstream.get_data(as_text=True)
    back = answer_upstream(to_upstream.location)
    assert back.startswith("http://localhost/realms/acme/social/callback"), back
    parts = urlsplit(back)
    return login._follow(login.http.get(parts.path, query_string=parts.query))


def hostile_answer(url: str) -> str:
    """The scripted upstream answers at once, with the claims the test set."""
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def corp_answer(email: str):
    """The real upstream: its own login page, filled in by its user."""

    def answer(url: str) -> str:
        session = requests.Session()
        page = session.get(url, timeout=10)
        assert page.status_code == 200, page.text
        back = session.post(page.url, data={"csrf_token": csrf_token(page.text), "email": email,
                                            "password": PASSWORD}, allow_redirects=False, timeout=10)
        assert back.status_code == 302, back.text
        return back.headers["Location"]

    return answer


def links_of(in_app, user_id) -> list[dict]:
    from idp.extensions import db
    from idp.models import FederatedIdentity

    with in_app():
        return [{"provider": row.provider.name, "subject": row.subject, "email_verified": row.email_verified}
                for row in db.session.scalars(db.select(FederatedIdentity).filter_by(user_id=user_id))]


def user_row(in_app, email):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.users import find_user_by_email

    with in_app():
        user = find_user_by_email(get_realm("acme"), email)
        if user is not None:
            db.session.expunge(user)
        return user
