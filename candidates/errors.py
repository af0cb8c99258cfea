"""Errors of the candidates app; `message` is Japanese and shown to the recruiter."""

from __future__ import annotations


class CandidateError(Exception):
    """A candidate operation that cannot be done as asked."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the form field the error is about, where a form shows it beside the field


class RankTableError(CandidateError):
    """A rank table (form or CSV upload) that cannot be saved."""


class MergeError(CandidateError):
    """A merge or an undo that is not possible."""


class ImportFileError(CandidateError):
    """An uploaded file that cannot be imported (not a CSV, empty, too large, unknown board)."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


class PrivacyRequestError(CandidateError):
    """A student's APPI request that cannot be made or answered as asked."""


class RetentionConfirmError(CandidateError):
    """A retention policy switched on without confirming how many students it would process now."""

    def __init__(self, message: str, *, count: int) -> None:
        super().__init__(message)
        self.count = count
