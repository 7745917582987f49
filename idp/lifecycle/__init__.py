"""The account life cycle around a login: email verification, password reset, security
notifications and remembered devices ("Remember this device for N days").

- ``links``: single-use, expiring links sent by mail (a random token in the URL, its keyed
  digest in ``email_links``, claimed atomically).
- ``verification``: the verification mail after registration, the link that sets
  ``email_verified``, and ``EmailVerificationStage``, the login stage a realm that requires a
  verified address puts between the second factor and the first token.
- ``reset``: "Forgot password?" -> mail -> new password; sessions, refresh tokens and
  remembered devices end; a login that asked for the reset continues (through its MFA step).
- ``notifications``: the security events (factor added/removed, phone changed, recovery codes
  regenerated or used, password changed, TOTP code replayed) mail the user and forget their
  remembered devices, in one place, driven by the audit events.
- ``devices``: remembered devices and when one may skip the MFA stage.
"""


def init_app(app) -> None:
    """Email verification as a login stage, for realms that require a verified address; the
    security notices and remembered-device forgetting subscribed to the event bus."""
    from ..events import event_recorded
    from ..login.stages import register_stage
    from .notifications import forget_devices_on_event, notify_on_event
    from .verification import EmailVerificationStage

    register_stage(app, EmailVerificationStage())
    event_recorded.connect(forget_devices_on_event)
    event_recorded.connect(notify_on_event)
