"""SMS senders, one folder per provider (``idp/sms/<kind>/``), each exporting ``PROVIDER``, its
``base.ProviderSpec``. A sender takes (to, body) and either returns a provider message id or
raises ``SmsSendError`` with a message safe to log (never a credential)."""


class SmsSendError(Exception):
    pass
