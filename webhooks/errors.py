"""The webhooks app's exceptions (their message is for the user)."""


class WebhookError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
