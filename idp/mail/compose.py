"""Render a mail from the realm's theme: ``mail/<name>_subject.txt``, ``mail/<name>_message.txt``
and ``mail/<name>_message.html`` (allauth's naming), each given ``realm`` and the caller's
context."""
from __future__ import annotations

from ..themes import active_theme, render_theme_template
from . import MailMessage


def compose(realm, name: str, *, to: str, **context) -> MailMessage:
    theme = active_theme(realm)
    context = {"realm": realm, **context}

    def render(suffix: str) -> str:
        return render_theme_template(f"mail/{name}_{suffix}", theme=theme, **context)

    return MailMessage(
        to=to,
        subject=" ".join(render("subject.txt").split()),
        text=render("message.txt").strip() + "\n",
        html=render("message.html"),
        sender_name=realm.display_name if realm is not None else "",
    )
