"""Errors of the selection app; `message` is Japanese and shown to the user."""

from __future__ import annotations


class SelectionError(Exception):
    def __init__(self, message: str, *, question_id: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.question_id = question_id  # the entry-sheet question the error is about, shown beside it


class EvaluationNotAllowed(SelectionError):
    """The user may not evaluate this student in this round (answered with 403)."""
