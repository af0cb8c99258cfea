"""Errors raised by tenant provisioning."""


class TenantError(Exception):
    """A tenant operation that cannot be done; `message` is for the user (Japanese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
