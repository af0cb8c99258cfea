"""Errors of the seasons app (messages in Japanese, shown to recruiters)."""

from __future__ import annotations


class SeasonError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
