"""Addresses that carry a secret, and their redaction: the one list of such paths, used by the access log
(saas/serve.py), the server's log lines (LOGGING's filter) and Sentry (saas/sentry.py).

A student's sign-in link, a recruiter's password-set link, a company's acknowledgement link and an
unsubscribe link each work for whoever holds them; feed keys in a query string likewise. Their tokens are
replaced by `[redacted]`, the rest of the address stays so a log line still says which page was asked for.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

_SECRET_SEGMENTS = re.compile(
    r"(/my/login/|/accounts/password/[^/?#\s\"]+/|/status/ack/|/mail/unsubscribe/)[^/?#\s\"]+"
)
_SECRET_QUERY = re.compile(r"([?&](?:key|token|code)=)[^&#\s\"]+")


def secrets_redact(text: str) -> str:
    """`text` (a path, a URL, a log line) with every token-carrying part replaced by [redacted]."""
    if "/" not in text and "=" not in text:
        return text
    return _SECRET_QUERY.sub(rf"\1{REDACTED}", _SECRET_SEGMENTS.sub(rf"\1{REDACTED}", text))


class SecretsRedactingFilter(logging.Filter):
    """A logging filter: the formatted message and its arguments lose their tokens (Django's "Forbidden:
    /my/login/…" and "Not Found: …" lines name the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = secrets_redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
