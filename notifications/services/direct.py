"""Sending straight to SMTP, for the two senders that cannot use a company's outbox.

The watchdog tells the companies while PostgreSQL itself is down (the outbox lives in it), and the support
team's internal reminders belong to no company. Everything else goes through the outbox (outbox.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage, send_mail

logger = logging.getLogger(__name__)


def mail_send_without_database(*, to: Sequence[str], subject: str, body: str, bcc: Sequence[str] = ()) -> int:
    """One SMTP transaction; never raises (SMTP may be down too, and the caller keeps going either way).

    Companies' admins go in Bcc: no company sees another's address.
    """
    if not to:
        return 0
    try:
        message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, list(to), bcc=list(bcc))
        return message.send(fail_silently=False)
    except Exception as error:
        logger.warning("direct e-mail failed: %s", type(error).__name__)
        return 0


def support_mail_send(*, subject: str, body: str) -> None:
    """Internal reminders to the support team (no company, no personal data; no tenant outbox to use)."""
    send_mail(subject, body, None, [settings.SUPPORT_EMAIL], fail_silently=False)


def staff_mail_send(*, to: str, subject: str, body: str) -> None:
    """A mail to one support staff member (the public site's accounts have no company outbox)."""
    send_mail(subject, body, None, [to], fail_silently=False)
