from __future__ import annotations

import base64
import binascii

from ...services import ServiceError
from ..base import ProviderField, ProviderSpec

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24


def _signing_secret(text: str) -> str:
    try:
        key = base64.b64decode(text.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not text.startswith(SECRET_PREFIX) or len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"the signing secret must be {SECRET_PREFIX} followed by at least {MIN_SECRET_BYTES} "
                         "random bytes in base64")
    return text


class WebhookSpec(ProviderSpec):
    kind = "webhook"
    label = "Webhook"
    choice_label = "Webhook (your own HTTPS endpoint, signed per Standard Webhooks)"
    legend = "Webhook settings"
    fields = (
        ProviderField("webhook_url", "Webhook URL",
                      'Each text is POSTed here as JSON {"to", "body"}: https:// and a public address '
                      "(the [webhooks] outbound rules apply).",
                      required=True, max_length=2000, input_type="url",
                      missing="The webhook SMS provider needs --webhook-url"),
        ProviderField("webhook_secret", "Webhook signing secret",
                      f"{SECRET_PREFIX} and at least {MIN_SECRET_BYTES} random bytes in base64; your endpoint checks "
                      "the webhook-signature header with it. Stored encrypted; never shown again.",
                      secret=True, required=True, validator=_signing_secret,
                      missing="The webhook SMS provider needs --webhook-secret"),
    )

    def check(self, settings, secret, context) -> None:
        from ...webhooks.targets import check_webhook_url

        outbound = context.settings.webhooks
        try:
            settings["webhook_url"] = check_webhook_url(settings["webhook_url"], allow_private=outbound.allow_private_targets,
                                                        allow_http=outbound.allow_http)
        except ServiceError as error:
            raise ServiceError(error.message, field="webhook_url") from None

    def build(self, settings, secret, context):
        from .sender import WebhookSender

        return WebhookSender(url=settings.get("webhook_url"), secret=secret, outbound=context.settings.webhooks,
                             transport=context.http_client)

    def summary(self, settings) -> str:
        return f"Posts to {settings.get('webhook_url')}; signing secret stored encrypted"


PROVIDER = WebhookSpec()
