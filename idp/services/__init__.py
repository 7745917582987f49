"""Domain services shared by the hosted pages, the CLI, the management API and the console.
Each rule (such as which redirect URIs are acceptable) lives here once."""


class ServiceError(Exception):
    """A request that breaks a rule; the message is shown to the person who made it."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    pass
