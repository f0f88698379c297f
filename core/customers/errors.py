from core.errors import DomainError


class EmailTaken(DomainError):
    code = "email_taken"

    def __init__(self):
        super().__init__("An account with this e-mail already exists. Sign in or reset "
                         "your password.", field="email")


class InvalidResetLink(DomainError):
    code = "invalid_reset_link"

    def __init__(self):
        super().__init__("This reset link is invalid or has expired. Ask for a new one.")


class InvalidInput(DomainError):
    code = "invalid_input"
