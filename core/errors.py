"""The base of every error the domain raises on purpose."""


class DomainError(Exception):
    """A rule of the business said no. The message is written to be shown to a person."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    """The thing asked for does not exist, or is not the asker's to see."""

    code = "not_found"


class InvalidInput(DomainError):
    """What someone typed breaks a rule of the field (`field` names it)."""

    code = "invalid_input"
