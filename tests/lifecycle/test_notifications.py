"""Security notifications (OWASP ASVS V2.5.5): the user gets a mail when a factor is added or
removed, the phone changes, recovery codes are regenerated or used, the password changes, or an
authenticator code is reused."""
import pyotp
import pytest

from ..mfa.conftest import PHONE, link, text_of


def _user(user_id):
    from idp.extensions import db
    from idp.models import User

    return db.session.get(User, user_id)


def add_authenticator(user, setup):
    from tests.helpers import activate_totp, begin_totp_enrolment

    device, secret = begin_totp_enrolment(user, "Work phone")
    assert activate_totp(user, device, pyotp.TOTP(secret).now())


def remove_authenticator(user, setup):
    from tests.helpers import active_devices, remove_device

    remove_device(user, active_devices(user)[0])


def change_phone(user, setup):
    from idp.mfa.sms import admin_set_phone

    admin_set_phone(user, "+14155550199")


def remove_phone(user, setup):
    from idp.mfa.sms import admin_set_phone

    admin_set_phone(user, "")


def regenerate_recovery_codes(user, setup):
    from tests.helpers import generate_recovery_codes

    generate_recovery_codes(user)


def use_recovery_code(user, setup):
    from tests.helpers import use_recovery_code

    assert use_recovery_code(user, setup.recovery_codes[0])


def change_password(user, setup):
    from idp.services.users import set_password

    set_password(user, "another good passphrase")


def reuse_authenticator_code(user, setup):
    from tests.helpers import verify_totp

    code = setup.totp_code()
    assert verify_totp(user, code) is not None
    assert verify_totp(user, code) is None


def reset_factors(user, setup):
    from idp.admin.operations import reset_factors

    reset_factors(user)


CASES = [
    (add_authenticator, {}, "An authenticator app was added to your account", 'The authenticator app "Work phone"'),
    (remove_authenticator, {"with_totp": True}, "An authenticator app was removed from your account",
     "can no longer be used"),
    (change_phone, {"admin_phone": PHONE}, "The phone number for two-factor authentication was changed",
     "set by your administrator"),
    (remove_phone, {"admin_phone": PHONE}, "The phone number for two-factor authentication was removed",
     "your administrator removed it"),
    (regenerate_recovery_codes, {"with_recovery_codes": True}, "New recovery codes were created for your account",
     "previous recovery codes no longer work"),
    (use_recovery_code, {"with_recovery_codes": True}, "A recovery code was used to log in to your account",
     "You have 9 recovery codes left."),
    (change_password, {}, "Your password was changed", "only the new password works"),
    (reuse_authenticator_code, {"with_totp": True}, "An authenticator code was used twice on your account",
     "someone may know your password"),
    (reset_factors, {"with_totp": True, "with_recovery_codes": True},
     "Your two-factor authentication methods were reset", "set up a second factor again"),
]


@pytest.mark.parametrize("action, enrolment, headline, explanation", CASES, ids=[c[0].__name__ for c in CASES])
def test_user_is_mailed_about_each_security_change(realm_factory, user_factory, in_app, mailbox, action,
                                                   enrolment, headline, explanation):
    from idp.extensions import db

    realm_factory(totp_enabled=True)
    setup = user_factory(**enrolment)
    before = len(mailbox.messages())
    with in_app():
        action(_user(setup.id), setup)
        db.session.commit()
    new = mailbox.messages()[before:]
    assert [m["subject"] for m in new] == [f"Acme: {headline}"]
    [mail] = new
    assert mail["to"] == "alice@example.com"
    assert explanation in " ".join(mail["text"].split())
    assert headline in mail["html"] and "change your password" in mail["text"]


def test_change_that_is_rolled_back_sends_no_mail(realm_factory, user_factory, in_app, mailbox):
    from idp.extensions import db

    realm_factory()
    setup = user_factory()
    with in_app():
        change_password(_user(setup.id), setup)
        db.session.rollback()
    assert mailbox.messages() == []


def test_first_recovery_codes_come_without_a_mail_of_their_own(realm_factory, user_factory, in_app, mailbox):
    """They arrive with the first factor, whose own mail tells the user; later sets are mailed."""
    from idp.extensions import db

    realm_factory(totp_enabled=True)
    setup = user_factory()
    with in_app():
        add_authenticator(_user(setup.id), setup)  # the first factor brings the first recovery codes
        db.session.commit()
    assert mailbox.subjects() == ["Acme: An authenticator app was added to your account"]
    with in_app():
        regenerate_recovery_codes(_user(setup.id), setup)
        db.session.commit()
    assert mailbox.subjects()[-1] == "Acme: New recovery codes were created for your account"


def test_reused_code_at_the_login_page_mails_the_user_with_the_browser_and_ip(realm_factory, user_factory, browser,
                                                                              mailbox):
    realm = realm_factory(integration=False, totp_enabled=True)
    user = user_factory(with_totp=True, with_recovery_codes=True)
    first = browser(realm)
    first.authorize()
    first.log_in()
    code = user.totp_code()
    first.submit({"code": code})
    assert first.redirected_to_app

    second = browser(realm)
    second.http.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
    second.authorize()
    second.log_in()
    second.submit({"code": code})
    assert second.response.status_code == 400
    mail = mailbox.last(about="used twice")
    assert "Browser: Firefox on Linux" in mail["text"] and "IP address: 127.0.0.1" in mail["text"]
    assert "http://localhost/realms/acme/account" in mail["text"]


def test_recovery_code_used_at_login_mails_how_many_are_left(realm_factory, user_factory, browser, mailbox):
    realm = realm_factory()
    user = user_factory(phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.authorize()
    login.log_in()
    login.get(link(login.page, "Use a recovery code"))
    login.submit({"code": user.recovery_codes[0]})
    assert "Recovery code accepted" in login.page
    assert "You have 9 recovery codes left." in mailbox.last(about="recovery code was used")["text"]


def test_notice_shows_user_chosen_names_as_text_not_html(realm_factory, user_factory, in_app, mailbox):
    from idp.extensions import db
    from tests.helpers import activate_totp, begin_totp_enrolment

    realm_factory(totp_enabled=True)
    setup = user_factory()
    with in_app():
        user = _user(setup.id)
        device, secret = begin_totp_enrolment(user, "<img src=x onerror=alert(1)>")
        activate_totp(user, device, pyotp.TOTP(secret).now())
        db.session.commit()
    mail = mailbox.last(about="added")
    assert "<img" not in mail["html"] and "&lt;img src=x" in mail["html"]
    assert '"<img src=x onerror=alert(1)>"' in mail["text"]


def test_password_reset_sends_the_password_changed_notice(realm_factory, user_factory, browser, mailbox):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    login = browser(realm)
    login.authorize()
    login.get(link(login.page, "Forgot password?"))
    login.submit({"email": "alice@example.com"})
    login.get(mailbox.link(about="Reset your"))
    login.submit({"password": "a brand new passphrase"})
    assert mailbox.subjects() == ["Reset your Acme password", "Acme: Your password was changed"]
    assert "Password changed" in text_of(login.page) or login.redirected_to_app


def test_administrator_changing_a_password_from_the_cli_mails_the_user(realm_factory, user_factory, runner,
                                                                       instance_path):
    import json

    realm_factory()
    user_factory()
    result = runner("users", "set", "alice@example.com", "--realm", "acme", "--password", "another good passphrase")
    assert result.exit_code == 0, result.output
    outbox = instance_path / "mail-outbox.jsonl"
    subjects = [json.loads(line)["subject"] for line in outbox.read_text().splitlines()]
    assert subjects == ["Acme: Your password was changed"], "the command returns once its mail is sent"
