"""Guessing one account's password from many addresses: after 10 wrong passwords the address's
password logins are locked for 15 minutes, the right password too, on every surface that checks
one, without telling which addresses have accounts. And the per-IP limit on the login and code
forms counts failures, so an office behind one address can log in all day."""
import threading

import pytest

from ..helpers import PASSWORD
from ..mfa.conftest import text_of

LOCKED = "Too many wrong passwords for this email address. Try again in 15 minutes or reset your password."
AUTHENTICATE = "/api/v1/realms/acme/sessions/authenticate"


@pytest.fixture
def form_rate_limit():
    """``security.form_rate_limit`` of the app under test; a test parametrizes it lower."""
    return "30 per minute; 300 per hour"


@pytest.fixture
def app(make_app, mfa_settings, form_rate_limit):
    return make_app(mfa=mfa_settings, security={"form_rate_limit": form_rate_limit})


@pytest.fixture
def realm(realm_factory):
    return realm_factory(mfa_enabled=False)


def _attempt(browser, realm, email, password, ip):
    """One login from a browser at ``ip``: the login page, then the password."""
    login = browser(realm)
    login.http.environ_base["REMOTE_ADDR"] = ip
    login.authorize()
    login.log_in(email, password)
    return login


def _guess_ten_times(browser, realm, email="alice@example.com"):
    """Ten wrong passwords, each from its own address (a botnet's guesses)."""
    logins = [_attempt(browser, realm, email, f"wrong guess {n}", f"198.51.100.{n + 1}") for n in range(10)]
    assert [login.response.status_code for login in logins] == [400] * 10
    return logins


# --- the per-address lock --------------------------------------------------------------------

def test_eleventh_wrong_password_is_refused_and_so_is_the_right_one_from_any_address(realm, user_factory, browser):
    user_factory()
    _guess_ten_times(browser, realm)

    eleventh = _attempt(browser, realm, "alice@example.com", "wrong guess 10", "203.0.113.7")
    assert eleventh.response.status_code == 429
    assert LOCKED in text_of(eleventh.page)
    owner = _attempt(browser, realm, "alice@example.com", PASSWORD, "203.0.113.8")
    assert owner.response.status_code == 429 and not owner.redirected_to_app
    assert LOCKED in text_of(owner.page)
    other = _attempt(browser, realm, "bob@example.com", "anything at all", "203.0.113.8")
    assert other.response.status_code == 400, "only the guessed address is locked"


def test_unknown_address_answers_exactly_like_a_locked_account(realm, user_factory, browser):
    user_factory()
    answers = {}
    for email in ("alice@example.com", "nobody@example.com"):
        logins = _guess_ten_times(browser, realm, email)
        logins.append(_attempt(browser, realm, email, PASSWORD, "203.0.113.9"))
        answers[email] = [(login.response.status_code, text_of(login.page)) for login in logins]
    assert answers["alice@example.com"] == answers["nobody@example.com"]
    assert answers["nobody@example.com"][-1] == (429, answers["alice@example.com"][-1][1])


def test_lock_mails_the_owner_once_and_is_recorded_as_login_locked(realm, user_factory, browser, mailbox,
                                                                    audit_events):
    alice = user_factory()
    _guess_ten_times(browser, realm)
    for n in range(3):
        _attempt(browser, realm, "alice@example.com", PASSWORD, f"203.0.113.{n + 1}")
    _guess_ten_times(browser, realm, "nobody@example.com")

    assert mailbox.subjects("alice@example.com") == ["Acme: Logging in to your account with a password is paused"]
    mail = mailbox.last("alice@example.com", about="paused")
    assert ("Someone entered a wrong password for your account 10 times, so logging in with a password is paused "
            "for 15 minutes, even with the right password.") in " ".join(mail["text"].split())
    assert "198.51.100.10" in mail["text"], "from the address of the guess that locked it"
    locks = audit_events("login.locked")
    assert locks == [
        {"user_id": alice.id, "failures": 10, "seconds": 900},
        {"user_id": None, "email": "nobody@example.com", "failures": 10, "seconds": 900},
    ]
    assert [e["reason"] for e in audit_events("login.failed")].count("locked") == 3
    assert mailbox.messages("nobody@example.com") == []


def test_right_password_starts_the_count_again(realm, user_factory, browser):
    user_factory()
    for round_ in range(2):
        for n in range(9):
            assert _attempt(browser, realm, "alice@example.com", "wrong", f"198.51.100.{n + 1}").response.status_code \
                == 400
        assert _attempt(browser, realm, "alice@example.com", PASSWORD, "203.0.113.1").redirected_to_app, round_


def test_lock_ends_after_fifteen_minutes(realm, user_factory, browser, age_links):
    user_factory()
    _guess_ten_times(browser, realm)
    age_links(14 * 60)
    assert _attempt(browser, realm, "alice@example.com", PASSWORD, "203.0.113.1").response.status_code == 429
    age_links(61)
    assert _attempt(browser, realm, "alice@example.com", PASSWORD, "203.0.113.1").redirected_to_app


def test_owner_who_resets_the_password_is_not_kept_out_by_the_lock(realm, user_factory, browser, mailbox):
    from ..mfa.conftest import link

    user_factory()
    _guess_ten_times(browser, realm)
    owner = browser(realm)
    owner.authorize()
    owner.get(link(owner.page, "Forgot password?"))
    owner.submit({"email": "alice@example.com"})
    owner.open_mailed_link(mailbox.link("alice@example.com", about="Reset"), password="a brand new passphrase")
    assert owner.redirected_to_app
    assert _attempt(browser, realm, "alice@example.com", "a brand new passphrase", "203.0.113.1").redirected_to_app


def test_parallel_guesses_check_no_more_passwords_than_the_limit(realm, user_factory, browser, app, monkeypatch):
    """Sixteen guesses from sixteen addresses arrive at once: at most ten passwords are checked,
    and every other guess is refused as locked.

    Usually exactly ten are checked. On a loaded machine a guess may stall between its count
    (say the ninth) and the look at the lock that follows it, while the tenth is checked and
    locks the address: that guess then finds the address locked and is refused without a
    check, as any guess at a locked address is. So fewer than ten can be checked, never more."""
    from idp.services import users

    user_factory()
    logins = []
    for n in range(16):
        login = browser(realm)
        login.http.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        login.authorize()
        logins.append(login)

    checked = []
    check = users.verify_password

    def counted_check(password_hash, password):
        checked.append(password)
        return check(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counted_check)
    arrived = threading.Barrier(len(logins))
    serve = app.wsgi_app

    def arrive_together(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            arrived.wait(timeout=10)
        return serve(environ, start_response)

    monkeypatch.setattr(app, "wsgi_app", arrive_together)
    threads = [threading.Thread(target=login.log_in, args=("alice@example.com", f"guess {n}"))
               for n, login in enumerate(logins)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    statuses = sorted(login.response.status_code for login in logins)
    assert 1 <= len(checked) <= 10, statuses
    assert statuses == [400] * len(checked) + [429] * (16 - len(checked))
    monkeypatch.setattr(app, "wsgi_app", serve)
    assert _attempt(browser, realm, "alice@example.com", PASSWORD, "203.0.113.1").response.status_code == 429


def test_direct_login_api_shares_the_lock_and_answers_an_unknown_address_alike(realm, user_factory, browser, client):
    user_factory()
    _guess_ten_times(browser, realm)
    answers = []
    for email in ("alice@example.com", "nobody@example.com"):
        for n in range(11 if email == "nobody@example.com" else 1):
            response = client.post(AUTHENTICATE, json={"email": email, "password": PASSWORD,
                                                       "client_id": realm.client_id},
                                   environ_base={"REMOTE_ADDR": f"192.0.2.{n + 1}"})
        answers.append((response.status_code, response.get_json()["error"], response.get_json()["error_description"]))
        assert int(response.headers["Retry-After"]) > 800
    assert answers[0] == answers[1] == (429, "login_locked", "Too many wrong passwords for this email address. "
                                                             "Try again in 15 minutes or reset the password.")


# --- the per-IP limit counts failures --------------------------------------------------------

def test_forty_logins_from_one_office_address_get_in_and_thirty_one_failures_get_429(realm, user_factory, browser):
    """Before: the 31st form post a minute from one address got 429, successful or not."""
    for n in range(4):
        user_factory(f"colleague{n}@example.com")
    for n in range(40):
        login = _attempt(browser, realm, f"colleague{n % 4}@example.com", PASSWORD, "192.0.2.10")
        assert login.redirected_to_app, (n, login.response.status_code)

    statuses = [_attempt(browser, realm, f"typo{n}@example.com", "wrong", "192.0.2.10").response.status_code
                for n in range(31)]
    assert statuses == [400] * 30 + [429]


@pytest.mark.parametrize("form_rate_limit", ["3 per minute"])
def test_right_codes_do_not_count_against_the_per_ip_limit_and_wrong_ones_do(realm_factory, user_factory, browser,
                                                                           form_rate_limit):
    realm = realm_factory(integration=False, totp_enabled=True)
    users = [user_factory(f"colleague{n}@example.com", with_totp=True, with_recovery_codes=True) for n in range(4)]
    for user in users:
        login = _attempt(browser, realm, user.email, PASSWORD, "192.0.2.10")
        assert "Enter the code from your authenticator app" in text_of(login.page)
        login.submit({"code": user.totp_code()})
        assert login.redirected_to_app

    login = _attempt(browser, realm, users[0].email, PASSWORD, "192.0.2.10")
    statuses = []
    for _ in range(4):
        login.submit({"code": "000000"})
        statuses.append(login.response.status_code)
    assert statuses == [400, 400, 400, 429]


@pytest.mark.parametrize("form_rate_limit", ["3 per minute"])
def test_one_ipv6_subscriber_gets_one_budget_whatever_address_of_its_slash_64_it_uses(realm, browser,
                                                                                     form_rate_limit):
    """A home or a cloud host holds a whole /64: counting each address would give it 2^64 budgets."""
    statuses = [_attempt(browser, realm, f"spray{n}@example.com", "wrong", f"2001:db8:1:2::{n + 1:x}")
                .response.status_code for n in range(5)]

    assert statuses == [400, 400, 400, 429, 429]
    other_subscriber = _attempt(browser, realm, "spray@example.com", "wrong", "2001:db8:1:3::1")
    assert other_subscriber.response.status_code == 400
