"""Text messages cost money: the resend cool-down, per-account and per-IP caps, and the
SMS-pumping guards (distinct numbers and countries per IP) refuse in words, never silently."""
import re

import pytest

from ..helpers import outbox_messages
from .conftest import MASKED_PHONE, PHONE, mfa_url, text_of


def _at_code_page(browser, realm, email="alice@example.com", ip="198.51.100.7"):
    login = browser(realm)
    login.http.environ_base["REMOTE_ADDR"] = ip
    login.authorize()
    login.log_in(email)
    return login


def _resend(login):
    return login.submit({}, url=mfa_url(login, "/sms/resend"))


def test_resend_cool_down_is_shown_and_enforced(realm_factory, user_factory, browser, instance_path, sms_code,
                                                age_sms):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _at_code_page(browser, realm)
    assert "You can request a new code in 30 seconds." in text_of(login.page)
    assert re.search(r'<button[^>]*id="resend-button"[^>]*disabled', login.page)
    first_code = sms_code()

    _resend(login)
    assert login.response.status_code == 429
    assert re.search(r"Wait (29|30) seconds before requesting another code\.", text_of(login.page))
    assert len(outbox_messages(instance_path)) == 1

    age_sms(30)
    _resend(login)
    assert login.response.status_code == 200
    assert f"We sent a new code to {MASKED_PHONE}." in text_of(login.page)
    assert len(outbox_messages(instance_path)) == 2
    new_code = sms_code()
    if new_code != first_code:
        login.submit({"code": first_code}, url=mfa_url(login, "/sms"))
        assert login.response.status_code == 400, "a resend replaces the earlier code"
    login.submit({"code": new_code}, url=mfa_url(login, "/sms"))
    assert login.redirected_to_app


@pytest.mark.parametrize("mfa_settings, message", [
    ({"sms_per_account_per_hour": 2, "resend_cooldown": 0},
     "Too many codes were sent to this account in the last hour."),
    ({"sms_per_account_per_day": 2, "resend_cooldown": 0}, "Too many codes were sent to this account today."),
    ({"sms_per_ip_per_hour": 2, "resend_cooldown": 0},
     "Too many codes were requested from your network in the last hour."),
    ({"sms_per_ip_per_day": 2, "resend_cooldown": 0}, "Too many codes were requested from your network today."),
], ids=["account-hour", "account-day", "ip-hour", "ip-day"])
def test_sms_cap_refuses_more_codes_in_words(realm_factory, user_factory, browser, instance_path, message):
    realm = realm_factory()
    user_factory(phone=PHONE, with_recovery_codes=True)
    login = _at_code_page(browser, realm)
    _resend(login)
    assert len(outbox_messages(instance_path)) == 2
    _resend(login)
    assert login.response.status_code == 429
    assert message in text_of(login.page)
    assert len(outbox_messages(instance_path)) == 2

    next_login = _at_code_page(browser, realm)
    assert next_login.response.status_code == 429
    assert message in text_of(next_login.page), "a new login is told too, not left waiting for a text"
    assert "Use a recovery code" in text_of(next_login.page)
    assert len(outbox_messages(instance_path)) == 2


@pytest.mark.parametrize("mfa_settings", [{"sms_per_ip_per_hour": 2}])
def test_per_ip_cap_does_not_stop_users_on_other_networks(realm_factory, user_factory, browser, instance_path):
    realm = realm_factory()
    for name in ("alice", "bob", "carol"):
        user_factory(f"{name}@example.com", phone=PHONE, with_recovery_codes=True)
    _at_code_page(browser, realm, "alice@example.com")
    _at_code_page(browser, realm, "bob@example.com")
    refused = _at_code_page(browser, realm, "carol@example.com")
    assert "Too many codes were requested from your network" in text_of(refused.page)
    elsewhere = _at_code_page(browser, realm, "carol@example.com", ip="203.0.113.9")
    assert elsewhere.response.status_code == 200
    assert len(outbox_messages(instance_path)) == 3


@pytest.mark.parametrize("mfa_settings", [{"distinct_numbers_per_ip_per_day": 2}])
def test_texting_many_different_numbers_from_one_network_is_refused(realm_factory, user_factory, browser,
                                                                   instance_path, age_sms):
    realm = realm_factory(mfa_required=True)
    user_factory()
    login = _at_code_page(browser, realm)
    for number in ("+14155550101", "+14155550102"):
        login.get(mfa_url(login, "/sms/setup"))
        login.submit({"phone": number})
        assert login.response.status_code == 200, text_of(login.page)
        age_sms(30)
    login.get(mfa_url(login, "/sms/setup"))
    login.submit({"phone": "+14155550103"})
    assert login.response.status_code == 400
    assert "Codes were sent to too many different numbers from your network today." in text_of(login.page)
    assert [m["to"] for m in outbox_messages(instance_path)] == ["+14155550101", "+14155550102"]


def test_texting_many_countries_from_one_network_is_refused(realm_factory, user_factory, browser, instance_path,
                                                           age_sms):
    realm = realm_factory(mfa_required=True)
    user_factory()
    login = _at_code_page(browser, realm)
    for number in ("+14155550101", "+447400123456"):
        login.get(mfa_url(login, "/sms/setup"))
        login.submit({"phone": number})
        age_sms(30)
    login.get(mfa_url(login, "/sms/setup"))
    login.submit({"phone": "+61412345678"})
    assert login.response.status_code == 400
    assert "Codes were sent to too many countries from your network today." in text_of(login.page)
    assert len(outbox_messages(instance_path)) == 2


def test_caps_count_messages_in_the_database_not_in_one_process(realm_factory, user_factory, make_app, in_app):
    """Two workers (two apps on one database) share the per-account count."""
    from idp.extensions import db
    from idp.mfa.base import Challenge, FactorError
    from idp.mfa.sms.sending import send_sms_code
    from idp.models import User

    realm_factory()
    user = user_factory(phone=PHONE)
    workers = [make_app(mfa={"sms_per_account_per_hour": 2, "resend_cooldown": 0}) for _ in range(2)]

    def send(worker, binding):
        from idp.services.realms import get_realm

        with worker.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.7"}):
            row = db.session.get(User, user.id)
            send_sms_code(Challenge(get_realm("acme"), row, binding), PHONE)

    send(workers[0], "t1")
    send(workers[1], "t2")
    with pytest.raises(FactorError, match="Too many codes were sent to this account"):
        send(workers[0], "t3")


def test_sms_caps_count_an_ipv6_subscriber_once_whatever_address_of_its_slash_64_it_uses():
    """The per-IP caps are the SMS-pumping guard; a /64 is one subscriber."""
    import flask

    from idp.mfa.sms.sending import _client_ip

    app = flask.Flask(__name__)
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2::7"}):
        first = _client_ip()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::1"}):
        second = _client_ip()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        v4 = _client_ip()
    assert first == second == "2001:db8:1:2::/64" and v4 == "192.0.2.7"
