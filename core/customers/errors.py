from core.errors import DomainError, InvalidInput

__all__ = ["EmailNotConfirmed", "EmailTaken", "InvalidConfirmationLink", "InvalidInput",
           "InvalidResetLink", "WrongPassword"]


class EmailTaken(DomainError):
    code = "email_taken"

    def __init__(self):
        super().__init__("An account with this e-mail already exists. Sign in or reset "
                         "your password.", field="email")


class InvalidResetLink(DomainError):
    code = "invalid_reset_link"

    def __init__(self):
        super().__init__("This reset link is invalid or has expired. Ask for a new one.")


class InvalidConfirmationLink(DomainError):
    code = "invalid_confirmation_link"

    def __init__(self):
        super().__init__("This confirmation link is invalid, used or expired. Sign in with "
                         "your e-mail and password to get a new one.")


class EmailNotConfirmed(DomainError):
    """Raised only after the right password: it tells nothing to someone guessing."""

    code = "email_not_confirmed"

    def __init__(self, user, token: str | None):
        super().__init__("Confirm your e-mail address first: follow the link in the e-mail we "
                         "sent you. We have sent you a new one (check your spam folder too).",
                         field="email")
        self.user, self.token = user, token


class WrongPassword(DomainError):
    code = "wrong_password"

    def __init__(self, message: str = "That is not your current password.",
                 field: str = "current_password"):
        super().__init__(message, field=field)
