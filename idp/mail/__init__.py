"""Mail: compose a message from the realm's theme, then deliver it through the configured
sender, off the request path.

- ``compose(realm, "verify_email", **context)`` renders ``mail/verify_email_subject.txt``,
  ``mail/verify_email_message.txt`` and ``mail/verify_email_message.html`` with the realm's
  theme (a brand overrides any of them; the default theme fills the rest).
- ``deliver_later(message)`` hands it to a background thread; ``deliver_after_commit(message)``
  waits until the database transaction that caused it commits (nothing is sent for work that
  was rolled back).
- Senders (``[mail] backend``): ``outbox`` appends JSON lines to a file in the instance folder
  (the embedded default, for development and tests) and ``smtp`` uses the standard library's
  ``smtplib`` with STARTTLS or TLS and optional credentials.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import ConfigError

BACKENDS = ("outbox", "smtp")


class MailSendError(Exception):
    """A mail could not be handed to the mail server; the message is safe to log (no credentials)."""


@dataclass(frozen=True)
class MailMessage:
    to: str
    subject: str
    text: str
    html: str
    #: Shown as the sender's name next to ``[mail] from_address`` (the realm's display name).
    sender_name: str = ""


def check_settings(settings) -> None:
    """Bad mail settings stop start-up, like any other bad setting."""
    mail = settings.mail
    if mail.backend not in BACKENDS:
        raise ConfigError(f"key 'mail.backend': expected one of {', '.join(BACKENDS)}, got {mail.backend!r}")
    if mail.smtp_starttls and mail.smtp_ssl_tls and mail.backend == "smtp":
        raise ConfigError("keys 'mail.smtp_starttls' and 'mail.smtp_ssl_tls': choose one of them, not both")
    if "@" not in mail.from_address:
        raise ConfigError(f"key 'mail.from_address': expected an email address, got {mail.from_address!r}")


def mail_sender(app):
    """The sender ``[mail] backend`` names."""
    from pathlib import Path

    settings = app.extensions["idp.settings"].mail
    if settings.backend == "smtp":
        from .smtp import SmtpMailSender

        return SmtpMailSender(settings)
    from .outbox import OutboxMailSender

    return OutboxMailSender(Path(app.instance_path) / settings.outbox_file)


def init_app(app, settings) -> None:
    check_settings(settings)
    from .delivery import listen_for_commits

    listen_for_commits()


from .compose import compose
from .delivery import (
    compose_and_deliver_after_commit,
    deliver_after_commit,
    deliver_later,
    deliver_now,
    run_in_background,
    wait_for_deliveries,
)

__all__ = [
    "MailMessage",
    "MailSendError",
    "compose",
    "compose_and_deliver_after_commit",
    "deliver_after_commit",
    "deliver_later",
    "deliver_now",
    "run_in_background",
    "wait_for_deliveries",
]
