"""What someone holding only the password (or a stolen code) tries: guessing codes, replaying
them, racing them, skipping the MFA page, carrying codes between logins and users."""
import datetime as dt
import threading

import pytest

from ..helpers import csrf_token, outbox_messages
from .conftest import PHONE, link, login_url, mfa_url, text_of

WRONG_CODES = ("000000", "111111", "222222", "333333", "444444", "555555", "666666", "777777", "888888",
               "999999", "123456", "654321")


def _wrong(*known):
    return next(c for c in WRONG_CODES if c not in known)


def _at_code_page(browser, realm):
    login = browser(realm)
    login.authorize()
    login.log_in()
    assert "Enter the code" in login.page
    return login


def _events(in_app, event_type):
    from idp.extensions import db
    from idp.models import AuditEvent

    with in_app():
        return [e.details for e in db.session.scalars(db.select(AuditEvent).filter_by(event_type=event_type))]


def _issued_anything(in_app) -> bool:
    from idp.extensions import db
    from idp.models import AuthorizationCode, BrowserSession

    with in_app():
        return any(db.session.scalar(db.select(table.id)) for table in (AuthorizationCode, BrowserSession))


# --- guessing --------------------------------------------------------------------------------

def test_five_wrong_tries_kill_a_code_and_a_new_one_is_needed(realm_factory, user_factory, browser, sms_code, age_sms):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _at_code_page(browser, realm)
    right = sms_code()
    for attempt in range(4):
        login.submit({"code": _wrong(right)})
        assert "That code is not right" in login.page, attempt
    login.submit({"code": _wrong(right)})
    assert "This code can no longer be used. Request a new code." in text_of(login.page)
    login.submit({"code": right})
    assert login.response.status_code == 400
    assert "Request a new code" in text_of(login.page), "the right code no longer works either"

    age_sms(30)
    login.submit({}, url=mfa_url(login, "/sms/resend"))
    assert "We sent a new code to" in login.page
    login.submit({"code": sms_code()}, url=mfa_url(login, "/sms"))
    assert login.redirected_to_app


def test_ten_failures_lock_the_second_factor_across_logins_even_after_a_correct_password(
        realm_factory, user_factory, browser, sms_code, in_app, instance_path):
    realm = realm_factory()
    user = user_factory(phone=PHONE, with_recovery_codes=True)
    first = _at_code_page(browser, realm)
    for _ in range(6):
        first.submit({"code": _wrong(sms_code())})
    second = _at_code_page(browser, realm)
    token = csrf_token(second.page)
    for attempt in range(3):
        second.submit({"code": _wrong(sms_code())})
        assert second.response.status_code == 400, attempt
    second.submit({"code": _wrong(sms_code())})
    assert second.response.status_code == 429
    assert "Too many attempts" in second.page
    assert "Try again in 15 minutes" in text_of(second.page)

    third = browser(realm)
    third.authorize()
    third.log_in()
    assert third.response.status_code == 429, "a correct password does not reset the count"
    assert "Too many attempts" in third.page
    third.get(mfa_url(third, "/recovery"))
    assert third.response.status_code == 429, "recovery codes are locked too"
    third.get(mfa_url(third, "/sms"))
    assert third.response.status_code == 429
    sent = len(outbox_messages(instance_path))
    assert second.http.post(mfa_url(second, "/sms/resend"), data={"csrf_token": token}).status_code == 429
    assert len(outbox_messages(instance_path)) == sent, "no texts to a locked account"
    assert _events(in_app, "mfa.locked")
    assert not _issued_anything(in_app)

    from idp.extensions import db
    from idp.models import User

    with in_app():
        db.session.get(User, user.id).mfa_locked_until -= dt.timedelta(minutes=15)
        db.session.commit()
    after_lock = _at_code_page(browser, realm)
    after_lock.submit({"code": sms_code()})
    assert after_lock.redirected_to_app, "the lock is timed"


def test_reused_authenticator_code_is_refused_and_logged(realm_factory, user_factory, browser, in_app):
    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    code = user.totp_code()
    first = _at_code_page(browser, realm)
    first.submit({"code": code})
    assert first.redirected_to_app

    replay = _at_code_page(browser, realm)
    replay.submit({"code": code})
    assert replay.response.status_code == 400
    assert "That code is not right" in replay.page
    replayed = _events(in_app, "mfa.totp_replayed")
    assert replayed == [{"device": "Authenticator"}]

    older = _at_code_page(browser, realm)
    older.submit({"code": user.totp_code(0)})
    assert older.response.status_code == 400, "a code older than the last one used is refused too"


def _recovery_page_on(live_server, realm):
    """A real browser (requests) on the live server, at the "Use a recovery code" page."""
    import requests

    from ..helpers import PASSWORD, absolute, form_action
    from .conftest import REALM

    http = requests.Session()
    page = http.get(f"{live_server.realm_url(REALM)}/authorize", params={
        "response_type": "code", "client_id": realm.client_id, "redirect_uri": "http://127.0.0.1:9999/callback",
        "scope": "openid", "state": "s", "nonce": "n", "code_challenge": "x" * 43,
        "code_challenge_method": "S256"})
    page = http.post(absolute(page.url, form_action(page.text)),
                     data={"csrf_token": csrf_token(page.text), "email": "alice@example.com", "password": PASSWORD})
    return http, http.get(absolute(page.url, link(page.text, "Use a recovery code")))


def test_recovery_code_submitted_twice_at_once_succeeds_once(realm_factory, user_factory, live_server):
    from ..helpers import absolute, form_action

    realm = realm_factory()
    user = user_factory(phone=PHONE, with_recovery_codes=True)
    browsers = [_recovery_page_on(live_server, realm) for _ in range(2)]
    together = threading.Barrier(len(browsers))
    answers = []

    def submit(http, page):
        data = {"csrf_token": csrf_token(page.text), "code": user.recovery_codes[0]}
        together.wait(timeout=5)
        answers.append(http.post(absolute(page.url, form_action(page.text)), data=data, allow_redirects=False))

    threads = [threading.Thread(target=submit, args=browser) for browser in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    for http, _ in browsers:
        http.close()
    assert sorted(a.status_code for a in answers) == [200, 400]
    assert sum("Recovery code accepted" in a.text for a in answers) == 1


def test_recovery_code_claim_is_atomic_when_both_requests_found_it_unused(realm_factory, user_factory, app,
                                                                          monkeypatch):
    """Both callers read the row before either claims it: only the conditional UPDATE stands
    between them and a double use."""
    from idp.extensions import db
    from idp.mfa.base import Challenge
    from idp.mfa.recovery import FACTOR, factor as recovery
    from idp.models import User

    realm_factory()
    user = user_factory(phone=PHONE, with_recovery_codes=True)
    both_found_it = threading.Barrier(2)
    real_compare = recovery.digests_equal

    def compare_then_wait(a, b):
        both_found_it.wait(timeout=5)
        return real_compare(a, b)

    monkeypatch.setattr(recovery, "digests_equal", compare_then_wait)
    results = []

    def use():
        with app.app_context():
            row = db.session.get(User, user.id)
            used = FACTOR.verify(Challenge(row.realm, row, "txn"), {"code": user.recovery_codes[0]})
            results.append(used is not None)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(results) == [False, True]


# --- skipping the step -----------------------------------------------------------------------

def test_requesting_later_pages_never_skips_the_mfa_step(realm_factory, user_factory, browser, in_app):
    realm = realm_factory(third_party=True)
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _at_code_page(browser, realm)
    code_page = login.page_url

    for path in ("/consent", "/mfa/recovery-codes", "/mfa/recovery-codes.txt", "/mfa/continue", ""):
        login.get(login_url(login, path) if not path.startswith("/mfa") else mfa_url(login, path[4:]))
        assert not login.redirected_to_app, path
        assert "recovery-codes" not in (login.response.headers.get("Content-Disposition") or ""), path

    login.get(code_page)
    login.submit({"decision": "allow"}, url=login_url(login, "/consent"))
    assert not login.redirected_to_app
    assert "Enter the code we sent to" in login.page, "consent given early still leads back to MFA"

    login.authorize()
    assert not login.redirected_to_app
    assert "Log in" in login.page, "a new authorization request starts over: no session was made"
    assert not _issued_anything(in_app)


def test_consent_page_waits_for_the_second_factor(realm_factory, user_factory, browser):
    realm = realm_factory(third_party=True)
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _at_code_page(browser, realm)
    login.get(login_url(login, "/consent"))
    assert "Allow access" not in login.page
    assert "Enter the code we sent to" in login.page


def test_phone_cannot_be_changed_during_login_once_verified(realm_factory, user_factory, browser, instance_path,
                                                           in_app):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _at_code_page(browser, realm)
    assert "Change phone number" not in text_of(login.page)
    sent = len(outbox_messages(instance_path))
    token = csrf_token(login.page)
    login.get(mfa_url(login, "/sms/setup"))
    assert login.response.status_code == 403
    assert "change it from your account page" in text_of(login.page)
    response = login.http.post(mfa_url(login, "/sms/setup"), data={"csrf_token": token, "phone": "+14155550999"})
    assert response.status_code == 403
    assert len(outbox_messages(instance_path)) == sent

    from idp.extensions import db
    from idp.models import User

    with in_app():
        from idp.mfa.sms import phone_on_record

        assert phone_on_record(db.session.scalar(db.select(User))) == PHONE


def test_factor_the_user_does_not_have_cannot_be_picked_by_url(realm_factory, user_factory, browser):
    realm = realm_factory(totp_enabled=True)
    user_factory(phone=PHONE)
    login = _at_code_page(browser, realm)
    login.get(mfa_url(login, "/totp"))
    assert "Enter the code we sent to" in login.page
    login.get(mfa_url(login, "/totp/setup"))
    assert "Set up authenticator app" not in login.page, "no enrolment of a new device with the password alone"


# --- codes bound to their login --------------------------------------------------------------

def test_login_of_one_user_cannot_be_completed_with_another_users_code(realm_factory, user_factory, browser, sms_code):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    user_factory("bob@example.com", phone="+14155550111", with_recovery_codes=True)
    alice = _at_code_page(browser, realm)
    bob = browser(realm)
    bob.authorize()
    bob.log_in("bob@example.com")
    bobs_code = sms_code("+14155550111")

    alice.submit({"code": bobs_code})
    assert alice.response.status_code == 400
    assert not alice.redirected_to_app
    bob.submit({"code": bobs_code})
    assert bob.redirected_to_app, "Bob's code was not used up by the attempt"


def test_code_from_one_login_does_not_complete_another_login_of_the_same_user(realm_factory, user_factory, browser,
                                                                             sms_code):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    first_tab = _at_code_page(browser, realm)
    first_code = sms_code()
    second_tab = browser(realm)
    second_tab.http = first_tab.http
    second_tab.authorize()
    second_tab.log_in()
    second_code = sms_code()
    assert second_code != first_code or pytest.skip("both random codes are equal (1 in a million)")

    second_tab.submit({"code": first_code})
    assert second_tab.response.status_code == 400
    first_tab.submit({"code": second_code})
    assert first_tab.response.status_code == 400
    first_tab.submit({"code": first_code})
    assert first_tab.redirected_to_app
    second_tab.submit({"code": second_code})
    assert second_tab.redirected_to_app


def test_expired_login_gives_a_clear_page(realm_factory, user_factory, browser, sms_code, in_app):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _at_code_page(browser, realm)

    from idp.extensions import db
    from idp.models import LoginTransaction

    with in_app():
        txn = db.session.scalar(db.select(LoginTransaction))
        assert abs((txn.expires_at - txn.created_at) - dt.timedelta(minutes=10)) < dt.timedelta(seconds=1)
        txn.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        db.session.commit()
    login.submit({"code": sms_code()})
    assert login.response.status_code == 400
    assert "This login took too long and has expired. Start again from the application." in text_of(login.page)
    assert not _issued_anything(in_app)


def test_expired_code_is_refused(realm_factory, user_factory, browser, sms_code, in_app):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _at_code_page(browser, realm)

    from idp.extensions import db
    from idp.models import OtpChallenge

    with in_app():
        row = db.session.scalar(db.select(OtpChallenge))
        assert abs((row.expires_at - row.created_at) - dt.timedelta(minutes=5)) < dt.timedelta(seconds=1)
        row.expires_at = dt.datetime.now(dt.timezone.utc)
        db.session.commit()
    login.submit({"code": sms_code()})
    assert login.response.status_code == 400
    assert "Request a new code" in text_of(login.page)


# --- guessing in parallel --------------------------------------------------------------------

def test_parallel_guesses_get_no_more_tries_than_a_code_allows(realm_factory, user_factory, app, monkeypatch):
    """Four wrong guesses arrive together when the code has one try left: one is checked."""
    from idp.extensions import db
    from idp.mfa import codes
    from idp.mfa.base import Challenge
    from idp.mfa.sms import FACTOR as sms_factor
    from idp.mfa.sms.sending import send_sms_code
    from idp.models import OtpChallenge, User
    from idp.services.realms import get_realm

    realm_factory()
    user = user_factory(phone=PHONE)
    with app.test_request_context():
        challenge = Challenge(get_realm("acme"), db.session.get(User, user.id), "txn")
        send_sms_code(challenge, PHONE)
        db.session.execute(db.update(OtpChallenge).values(attempts=4))
        db.session.commit()

    guesses = 4
    all_read_the_code = threading.Barrier(guesses)
    read_code, compare = codes.latest_code, codes.digests_equal
    checked = []

    def read_then_wait(challenge, factor):
        row = read_code(challenge, factor)
        all_read_the_code.wait(timeout=5)
        return row

    def counted_compare(a, b):
        checked.append(a)
        return compare(a, b)

    monkeypatch.setattr(codes, "latest_code", read_then_wait)
    monkeypatch.setattr(codes, "digests_equal", counted_compare)

    def guess():
        with app.test_request_context():
            sms_factor.verify(Challenge(get_realm("acme"), db.session.get(User, user.id), "txn"), {"code": "000000"})

    threads = [threading.Thread(target=guess) for _ in range(guesses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(checked) == 1
    with app.app_context():
        assert db.session.scalar(db.select(OtpChallenge.attempts)) == 5


def test_parallel_guesses_cannot_outrun_the_account_lock(realm_factory, user_factory, browser, app, in_app,
                                                         monkeypatch):
    """Nine failures so far; six authenticator-code guesses arrive together: one is checked."""
    from idp.extensions import db
    from idp.models import AuditEvent, User

    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    logins = [_at_code_page(browser, realm) for _ in range(6)]
    with in_app():
        db.session.get(User, user.id).failed_mfa_attempts = 9
        db.session.commit()

    arrived = threading.Barrier(len(logins))
    serve = app.wsgi_app

    def arrive_together(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith(("/mfa/sms", "/mfa/totp")):
            arrived.wait(timeout=5)
        return serve(environ, start_response)

    monkeypatch.setattr(app, "wsgi_app", arrive_together)

    wrong = _wrong(user.totp_code(-1), user.totp_code(0), user.totp_code(1))
    threads = [threading.Thread(target=login.submit, args=({"code": wrong},)) for login in logins]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert all(login.response.status_code == 429 for login in logins)
    with in_app():
        checked = db.session.scalars(db.select(AuditEvent).filter_by(event_type="mfa.failed")).all()
        assert len(checked) == 1
        assert db.session.get(User, user.id).mfa_locked_until is not None
