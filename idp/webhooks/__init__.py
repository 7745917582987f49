"""Webhooks: a realm's subscriptions to events, delivered signed per the Standard Webhooks
specification (https://www.standardwebhooks.com/) from a transactional outbox.

- ``subscriptions``: add, change, remove a webhook; its signing secret (shown once, kept
  encrypted because every delivery signs with it).
- ``outbox``: an event becomes one pending delivery per webhook that wants it, in the same
  transaction as the change (``enqueue_for_event`` receives ``idp.events.event_recorded``); a
  test event; a redelivery.
- ``worker``: claims due deliveries and sends them; retries with exponential back-off.
- ``targets``: which addresses a delivery may reach, and the request itself."""
from __future__ import annotations


def check_settings(settings) -> None:
    """Start-up check of the ``[webhooks]`` keys."""
    from ..config import ConfigError

    section = settings.webhooks
    for key in ("timeout_seconds", "max_response_bytes", "first_retry_seconds", "max_retry_interval_seconds",
                "retry_window_hours", "worker_concurrency", "worker_poll_seconds"):
        if getattr(section, key) < 1:
            raise ConfigError(f"webhooks.{key}: must be at least 1, got {getattr(section, key)}")
    if section.delivery_retention_days < 0:
        raise ConfigError("webhooks.delivery_retention_days: must be 0 or more")
    if section.worker_concurrency > 64:
        raise ConfigError("webhooks.worker_concurrency: at most 64")


def init_app(app, settings) -> None:
    check_settings(settings)
    from ..events import event_recorded
    from .outbox import enqueue_for_event

    event_recorded.connect(enqueue_for_event)
