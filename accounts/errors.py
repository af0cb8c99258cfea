"""Errors of account management; `message` is Japanese and shown to the admin."""


class AccountError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
