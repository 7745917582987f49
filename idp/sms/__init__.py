"""SMS senders. Each takes (to, body) and either returns a provider message id or raises
``SmsSendError`` with a message safe to log (never a credential)."""


class SmsSendError(Exception):
    pass
