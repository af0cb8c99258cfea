"""The language of mails a recruiter's action sends to students."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def students_language() -> translation.override:
    """Mails to students are written in the company's language (settings.LANGUAGE_CODE) whoever triggers
    them: students keep no stored language yet, and a recruiter working in English must not send a Japanese
    student an English offer or invitation. Mails a student's own request sends follow that request."""
    return translation.override(settings.LANGUAGE_CODE)
