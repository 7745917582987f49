from __future__ import annotations

from ..base import ProviderSpec
from .sender import OutboxSender


class OutboxSpec(ProviderSpec):
    kind = "outbox"
    label = "Outbox"
    choice_label = "Outbox (development: writes messages to a file)"

    def build(self, settings, secret, context):
        return OutboxSender(context.instance_path / context.settings.sms.outbox_file)

    def summary(self, settings) -> str:
        return "Writes messages to the instance outbox file"


PROVIDER = OutboxSpec()
