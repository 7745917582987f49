"""The mail senders: the development outbox (the embedded default) and SMTP through the standard
library, with STARTTLS or TLS and credentials; bad mail settings stop start-up."""
import json
import socketserver
import threading
import typing
from base64 import b64decode
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from idp import ConfigError
from idp.mail import MailMessage, MailSendError, deliver_now
from idp.mail.smtp import SmtpMailSender

from ..conftest import test_settings as fast_test_settings

MESSAGE = MailMessage(to="alice@example.com", subject="Hello", text="Plain words\n", html="<p>Rich words</p>",
                      sender_name="Acme")


def test_outbox_appends_one_json_line_per_mail(app, instance_path):
    with app.app_context():
        deliver_now(MESSAGE)
        deliver_now(MESSAGE)
    lines = (instance_path / "mail-outbox.jsonl").read_text().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert set(record) == {"to", "subject", "text", "html", "sent_at"}
    assert (record["to"], record["subject"], record["text"], record["html"]) == (
        "alice@example.com", "Hello", "Plain words\n", "<p>Rich words</p>")


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough of an SMTP server (RFC 5321) to receive one message, with AUTH PLAIN."""

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        server = self.server
        self.reply("220 test ESMTP")
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-test")
                self.reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                _, user, password = b64decode(command.split()[2]).split(b"\0")
                server.logins.append((user.decode(), password.decode()))
                self.reply("235 ok" if password == b"s3cret" else "535 bad credentials")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                server.envelope.append(command)
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                server.messages.append(data)
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.logins, server.envelope, server.messages = [], [], []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _smtp_settings(port, **overrides):
    settings = fast_test_settings(mail={"backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port,
                                   "smtp_starttls": False, "from_address": "login@acme.example", **overrides})
    return settings.mail


def test_smtp_sender_logs_in_and_sends_text_and_html_parts(smtp_server):
    settings = _smtp_settings(smtp_server.server_address[1], smtp_username="mailer", smtp_password="s3cret")
    SmtpMailSender(settings).send(MESSAGE, from_address=settings.from_address)
    assert smtp_server.logins == [("mailer", "s3cret")]
    assert [c.upper() for c in smtp_server.envelope[:2]] == ["MAIL FROM:<LOGIN@ACME.EXAMPLE>", "RCPT TO:<ALICE@EXAMPLE.COM>"]
    sent = message_from_bytes(smtp_server.messages[0], policy=default_policy)
    assert (sent["From"], sent["To"], sent["Subject"]) == ("Acme <login@acme.example>", "alice@example.com", "Hello")
    assert sent.get_body(("plain",)).get_content().strip() == "Plain words"
    assert sent.get_body(("html",)).get_content().strip() == "<p>Rich words</p>"


def test_smtp_failure_is_a_clear_error_that_never_shows_the_password(smtp_server):
    settings = _smtp_settings(smtp_server.server_address[1], smtp_username="mailer", smtp_password="wrong-pass")
    with pytest.raises(MailSendError) as caught:
        SmtpMailSender(settings).send(MESSAGE, from_address=settings.from_address)
    assert "SMTPAuthenticationError" in str(caught.value) and "535" in str(caught.value)
    assert "wrong-pass" not in str(caught.value)


def test_unreachable_smtp_server_is_logged_and_the_page_still_answers(make_app, smtp_server, caplog):
    port = smtp_server.server_address[1]
    smtp_server.shutdown()
    smtp_server.server_close()
    app = make_app(mail={"backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False})
    from idp.mail import deliver_later, wait_for_deliveries

    with app.app_context():
        deliver_later(MESSAGE)
        wait_for_deliveries(app)
    assert "mail not sent: could not send mail through 127.0.0.1" in caplog.text


class _RecordingSmtp:
    """Stands in for smtplib's classes, to see which connection and upgrade the sender asks for."""

    calls: typing.ClassVar[list] = []

    def __init__(self, host, port, timeout=None, context=None):
        self.calls.append((type(self).__name__, host, port, timeout, context is not None))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context=None):
        self.calls.append(("starttls", context is not None))

    def login(self, user, password):
        self.calls.append(("login", user))

    def send_message(self, message, to_addrs=None):
        """Records the envelope recipients: exactly the one address, never a list parsed from
        the ``To`` header."""
        assert to_addrs == [message["To"]]
        self.calls.append(("send", message["To"]))


class SMTP(_RecordingSmtp):
    pass


class SMTP_SSL(_RecordingSmtp):
    pass


@pytest.mark.parametrize("starttls, ssl_tls, expected", [
    (True, False, [("SMTP", "mail.example", 587, 10, False), ("starttls", True), ("login", "mailer"),
                   ("send", "alice@example.com")]),
    (False, True, [("SMTP_SSL", "mail.example", 587, 10, True), ("login", "mailer"), ("send", "alice@example.com")]),
    (False, False, [("SMTP", "mail.example", 587, 10, False), ("login", "mailer"), ("send", "alice@example.com")]),
], ids=["starttls", "tls", "plain"])
def test_smtp_sender_uses_starttls_or_tls_with_certificate_checks(monkeypatch, starttls, ssl_tls, expected):
    import idp.mail.smtp as smtp_module

    monkeypatch.setattr(smtp_module.smtplib, "SMTP", SMTP)
    monkeypatch.setattr(smtp_module.smtplib, "SMTP_SSL", SMTP_SSL)
    _RecordingSmtp.calls = []
    settings = _smtp_settings(587, smtp_host="mail.example", smtp_starttls=starttls, smtp_ssl_tls=ssl_tls,
                              smtp_username="mailer", smtp_password="s3cret")
    SmtpMailSender(settings).send(MESSAGE, from_address="login@acme.example")
    assert _RecordingSmtp.calls == expected


@pytest.mark.parametrize("mail, message", [
    ({"backend": "sendmail"}, "key 'mail.backend': expected one of outbox, smtp"),
    ({"backend": "smtp", "smtp_starttls": True, "smtp_ssl_tls": True}, "choose one of them, not both"),
    ({"from_address": "nobody"}, "key 'mail.from_address': expected an email address"),
])
def test_bad_mail_settings_stop_start_up(make_app, mail, message):
    with pytest.raises(ConfigError, match=message):
        make_app(mail=mail)


def test_smtp_password_can_come_from_the_environment():
    from idp.config import load_settings

    settings = load_settings(None, environ={"IDP_MAIL_BACKEND": "smtp", "IDP_MAIL_SMTP_PASSWORD": "from-env",
                                            "IDP_MAIL_SMTP_SSL_TLS": "on", "IDP_MAIL_SMTP_STARTTLS": "off"})
    assert (settings.mail.backend, settings.mail.smtp_password, settings.mail.smtp_ssl_tls) == (
        "smtp", "from-env", True)


def test_mails_use_the_realms_theme_with_the_default_theme_behind_it(make_app, tmp_path):
    """A brand that overrides one mail template changes that template only."""
    from types import SimpleNamespace

    from idp.mail import compose

    root = tmp_path / "themes"
    (root / "brand" / "templates" / "mail").mkdir(parents=True)
    (root / "brand" / "theme.toml").write_text('display_name = "Brand"\nextends = "default"\n')
    (root / "brand" / "templates" / "mail" / "verify_email_subject.txt").write_text("Welcome to {{ realm.display_name }}!")
    app = make_app(themes={"dir": str(root)})
    realm = SimpleNamespace(name="acme", display_name="Acme", theme="brand")
    user = SimpleNamespace(name=None, email="alice@example.com")
    with app.app_context():
        branded = compose(realm, "verify_email", to=user.email, user=user, link_url="https://x/l", lifetime_hours=24)
    assert branded.subject == "Welcome to Acme!"
    assert "https://x/l" in branded.text and "Verify email address" in branded.html
