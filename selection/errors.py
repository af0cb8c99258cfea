"""Errors of the selection app; `message` is Japanese and shown to the user."""

from __future__ import annotations


class SelectionError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EvaluationNotAllowed(SelectionError):
    """The user may not evaluate this student in this round (answered with 403)."""
