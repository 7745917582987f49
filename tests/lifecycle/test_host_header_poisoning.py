"""An attacker asks for Alice's password reset naming their own host (in ``Host``, or in
``X-Forwarded-Host`` through the proxy): the mail must never link there, or the reset token goes
to the attacker when Alice clicks. Only the public URL's host is served; mails always link to
the public URL."""
import pytest

from ..flows import HostedLogin
from ..helpers import csrf_token
from ..mfa.conftest import link
from .conftest import Mailbox

PUBLIC_URL = "https://login.example.com"
ATTACKER = "evil.example"


class BrowserAt:
    """A browser (Flask's test client) at ``origin``: it names that host in every request, and
    sends ``headers`` too (what the proxy in front adds)."""

    def __init__(self, http, origin, **headers):
        self.http = http
        self.origin = origin
        self.headers = {"Referer": f"{origin}/", **headers}

    def get(self, *args, **kwargs):
        return self.http.get(*args, base_url=self.origin, headers={**self.headers, **kwargs.pop("headers", {})},
                             **kwargs)

    def post(self, *args, **kwargs):
        return self.http.post(*args, base_url=self.origin, headers={**self.headers, **kwargs.pop("headers", {})},
                              **kwargs)


@pytest.fixture
def app(make_app):
    """Behind one trusted proxy, as ``deploy/`` sets it up."""
    return make_app(public_url=PUBLIC_URL, server={"trusted_proxies": 1})


@pytest.fixture
def alice(realm_factory, user_factory):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    return realm


def browser_at(app, realm, origin=PUBLIC_URL, **headers) -> HostedLogin:
    return HostedLogin(BrowserAt(app.test_client(), origin, **headers), realm.name, realm.client_id,
                       realm.client_secret)


def forgot_password_page(login) -> str:
    login.authorize()
    login.get(link(login.page, "Forgot password?"))
    assert "Reset your password" in login.page
    return login.page_url


@pytest.mark.parametrize("public_url, origin", [
    ("", "http://localhost"),  # the set-up: no public URL, a proxy passing the client's host
    (PUBLIC_URL, PUBLIC_URL),
])
def test_reset_asked_through_a_forwarded_attacker_host_is_refused_and_mails_nothing(make_app, instance_path,
                                                                                    public_url, origin):
    """nginx passes the client's Host as ``X-Forwarded-Host`` and, with ``trusted_proxies = 1``,
    the app believes it. The attacker starts a reset for Alice, their own host in that header
    (and in ``Referer``, which they write too)."""
    from ..helpers import Factory

    app = make_app(public_url=public_url, server={"trusted_proxies": 1})
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        client_id, secret = factory.client(realm)
        factory.user(realm)
    attacker = HostedLogin(BrowserAt(app.test_client(), origin), "acme", client_id, secret)
    url = forgot_password_page(attacker)
    form = {"csrf_token": csrf_token(attacker.page), "email": "alice@example.com"}
    mailbox = Mailbox(app, instance_path / "mail-outbox.jsonl")

    refused = attacker.http.post(url, data=form, headers={"X-Forwarded-Host": ATTACKER,
                                                          "Referer": f"https://{ATTACKER}/"})

    assert refused.status_code == 400
    assert mailbox.messages() == []
    attacker.http.post(url, data=form)
    [mail] = mailbox.messages()
    assert mailbox.link(about="Reset your").startswith(f"{public_url or origin}/realms/acme/")
    assert ATTACKER not in mail["text"] + mail["html"]


@pytest.mark.parametrize("host", [ATTACKER, f"{ATTACKER}:8443", "login.example.com.evil.example"])
def test_a_login_started_at_an_attackers_host_is_refused_before_any_page(app, alice, mailbox, host):
    attacker = browser_at(app, alice, f"https://{host}")
    response = attacker.authorize()
    assert response.status_code == 400
    assert ATTACKER not in response.get_data(as_text=True)
    assert mailbox.messages() == []


def test_without_a_public_url_only_loopback_hosts_are_served_and_mails_link_there(make_app, instance_path):
    """The test fixtures' set-up (and a misconfigured server): nothing outside loopback is trusted."""
    from ..helpers import Factory

    app = make_app(public_url="")
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        client_id, secret = factory.client(realm)
        factory.user(realm)

    attacker = HostedLogin(BrowserAt(app.test_client(), f"https://{ATTACKER}"), "acme", client_id, secret)
    assert attacker.authorize().status_code == 400

    alice = HostedLogin(app.test_client(), "acme", client_id, secret)
    forgot_password_page(alice)
    alice.submit({"email": "alice@example.com"})
    mailbox = Mailbox(app, instance_path / "mail-outbox.jsonl")
    assert mailbox.link(about="Reset your").startswith("http://localhost/realms/acme/")


def test_a_loopback_alias_of_the_public_url_is_served_but_mails_link_to_the_public_url(make_app, instance_path):
    """``idp serve`` answers as http://127.0.0.1:PORT; a browser at localhost:PORT is served, and
    the mail still links to the public URL."""
    from ..helpers import Factory

    app = make_app(public_url="http://127.0.0.1:5999")
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        client_id, secret = factory.client(realm)
        factory.user(realm)

    alice = HostedLogin(BrowserAt(app.test_client(), "http://localhost:5999"), "acme", client_id, secret)
    forgot_password_page(alice)
    alice.submit({"email": "alice@example.com"})
    mailbox = Mailbox(app, instance_path / "mail-outbox.jsonl")
    assert mailbox.link(about="Reset your").startswith("http://127.0.0.1:5999/realms/acme/")
