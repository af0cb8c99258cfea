"""Errors of the notifications app, each with a message a recruiter can read."""


class NotificationError(Exception):
    """Base class: str(error) is shown to the user."""


class TemplateVariableError(NotificationError):
    pass


class SequenceError(NotificationError):
    pass


class UnsubscribeTokenError(NotificationError):
    pass
