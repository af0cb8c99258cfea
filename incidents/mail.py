"""The one place incidents send e-mail from (switched to the notifications outbox in one place later)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage, send_mail

from tenants.models import Tenant

logger = logging.getLogger(__name__)


def incident_mail_send(*, tenant: Tenant, to: str, subject: str, body: str, key: str) -> None:
    """Send one e-mail on behalf of a company; `key` is the idempotency key the outbox will de-duplicate on."""
    send_mail(subject, body, None, [to], fail_silently=False)


def incident_mail_send_without_database(
    *, to: list[str], subject: str, body: str, bcc: list[str] = ()
) -> int:
    """Straight to SMTP, for the watchdog while PostgreSQL itself is down (the outbox lives in it).

    Companies' admins go in Bcc: one SMTP transaction, and no company sees another's address.
    """
    if not to:
        return 0
    try:
        message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, list(to), bcc=list(bcc))
        return message.send(fail_silently=False)
    except Exception as error:  # SMTP may be down too; the watchdog keeps going either way
        logger.warning("watchdog e-mail failed: %s", type(error).__name__)
        return 0


def support_mail_send(*, subject: str, body: str) -> None:
    """Internal reminders to the support team (no company, no personal data)."""
    send_mail(subject, body, None, [settings.SUPPORT_EMAIL], fail_silently=False)
