"""The SMS provider interface. A provider is declared once, as a ``ProviderSpec``: its fields
(what an operator types), ``validate`` (those values to the settings stored in clear and the one
secret stored encrypted) and ``build`` (a sender from the stored row). The CLI options of
``idp sms-integrations add``, the management API's body fields and OpenAPI schemas, and the
console's form are all generated from the registered specs, so no surface knows a provider.

A new provider is a folder ``idp/sms/<kind>/`` whose ``__init__`` exports ``PROVIDER`` plus its
name in ``[sms] providers``. Example::

    class PigeonSpec(ProviderSpec):
        kind, label = "pigeon", "Pigeon post"
        fields = (ProviderField("loft_url", "Loft URL", required=True),
                  ProviderField("loft_key", "Loft key", secret=True, required=True))

        def build(self, settings, secret, context):
            return PigeonSender(settings["loft_url"], secret)

    PROVIDER = PigeonSpec()

Field names are one namespace across providers (each becomes ``--loft-url`` and a body field
``loft_url``), so name them after the provider's own vocabulary."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..services import ServiceError


class Sender(Protocol):
    def send(self, to: str, body: str) -> str:
        """Send ``body`` to the E.164 number ``to``; the provider's message id, or ``SmsSendError``."""


@dataclass(frozen=True)
class ProviderField:
    """One setting an operator gives. ``validator`` takes the stripped text and returns the
    value to store (normalised) or raises ``ValueError``/``ServiceError`` with a message for the
    operator; ``missing`` is the message when a required field is empty. A ``secret`` field is
    stored encrypted, never shown back, never logged (a provider has at most one)."""

    name: str
    label: str
    help: str = ""
    secret: bool = False
    required: bool = False
    validator: Callable[[str], Any] | None = None
    missing: str = ""
    max_length: int = 200
    input_type: str = "text"
    envvar: str | None = None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class SenderContext:
    """What a provider may use besides its row: the server's settings (``[sms]``, ``[webhooks]``),
    the instance folder, and a transport tests inject (``app.extensions["idp.<kind>_http_client"]``)."""

    settings: Any
    instance_path: Path
    http_client: Any = None


class ProviderSpec:
    kind: str = ""
    label: str = ""
    #: The console's choice text, when it says more than the label.
    choice_label: str = ""
    #: The console's legend over this provider's fields.
    legend: str = ""
    fields: tuple[ProviderField, ...] = ()

    @property
    def secret_field(self) -> ProviderField | None:
        return next((f for f in self.fields if f.secret), None)

    @property
    def secret_field_name(self) -> str | None:
        secret = self.secret_field
        return secret.name if secret else None

    def validate(self, values: Mapping[str, Any], context: SenderContext) -> tuple[dict, str | None]:
        """``values`` (field name -> text or None) to (settings stored in clear, the secret or
        None); a ``ServiceError`` naming the field otherwise. Each field is checked in order
        (required, length, its validator), then ``check`` sees them together."""
        settings: dict = {}
        secret = None
        for spec_field in self.fields:
            raw = values.get(spec_field.name)
            text = None if raw is None else str(raw) if spec_field.secret else str(raw).strip()
            if not text or not text.strip():
                if spec_field.required:
                    raise ServiceError(spec_field.missing or f"{self.label} needs {spec_field.label}",
                                       field=spec_field.name)
                value = None
            elif len(text) > spec_field.max_length:
                raise ServiceError(f"{spec_field.label} must be at most {spec_field.max_length} characters",
                                   field=spec_field.name)
            else:
                value = self._checked(spec_field, text)
            if spec_field.secret:
                secret = value
            else:
                settings[spec_field.name] = value
        self.check(settings, secret, context)
        return settings, secret

    @staticmethod
    def _checked(spec_field: ProviderField, text: str):
        if spec_field.validator is None:
            return text
        try:
            return spec_field.validator(text)
        except ServiceError as error:
            raise ServiceError(error.message, field=spec_field.name) from None
        except ValueError as error:
            raise ServiceError(str(error), field=spec_field.name) from None

    def check(self, settings: dict, secret: str | None, context: SenderContext) -> None:
        """Rules across fields (Twilio: a sender number or a messaging service) or against the
        server's settings; raise ``ServiceError(field=...)``."""

    def build(self, settings: Mapping[str, Any], secret: str | None, context: SenderContext) -> Sender:
        raise NotImplementedError

    def describe(self, settings: Mapping[str, Any]) -> dict:
        """The row's settings as every surface shows them: the non-secret fields only."""
        return {f.name: settings.get(f.name) for f in self.fields if not f.secret}

    def summary(self, settings: Mapping[str, Any]) -> str:
        """One line for the console's list of integrations."""
        shown = [f"{f.label} {settings[f.name]}" for f in self.fields if not f.secret and settings.get(f.name)]
        secret = self.secret_field
        if secret is not None:
            shown.append(f"{secret.label.lower()} stored encrypted")
        return "; ".join(shown)
