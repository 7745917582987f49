"""SMTP sender (stdlib ``smtplib``): STARTTLS (``smtp_starttls``, port 587) or TLS from the
first byte (``smtp_ssl_tls``, port 465), certificates verified against the system's CAs, and a
login when ``smtp_username`` is set. The password comes from config or, better, the
environment (``IDP_MAIL_SMTP_PASSWORD``) and never appears in an error."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from . import MailSendError


def build_email(message, from_address: str) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML as the richer part."""
    email = EmailMessage()
    email["From"] = formataddr((message.sender_name, from_address)) if message.sender_name else from_address
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


class SmtpMailSender:
    def __init__(self, settings):
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.smtp_ssl_tls:
            return smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=context)
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        if s.smtp_starttls:
            smtp.starttls(context=context)
        return smtp

    def send(self, message, *, from_address: str) -> None:
        s = self.settings
        email = build_email(message, from_address)
        try:
            with self._connect() as smtp:
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password)
                smtp.send_message(email, to_addrs=[message.to])
        except smtplib.SMTPResponseException as exc:
            raise MailSendError(f"SMTP server {s.smtp_host}:{s.smtp_port} refused the mail "
                                f"({type(exc).__name__}, code {exc.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailSendError(f"could not send mail through {s.smtp_host}:{s.smtp_port} "
                                f"({type(exc).__name__})") from None
