"""The one place incidents send e-mail from: companies' mail through their outbox, the watchdog's straight to SMTP."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django_tenants.utils import schema_context

from notifications.models import MailKind
from notifications.services.outbox import outbox_enqueue, outbox_enqueue_many
from tenants.models import Tenant

logger = logging.getLogger(__name__)


def incident_mail_send(
    *, tenant: Tenant, to: str, subject: str, body: str, key: str, candidate_id: int | None = None
) -> int:
    """Queue one e-mail in the company's outbox (idempotent on `key`); returns the outbox row's id.

    Transactional: incident and leak notices are not marketing and go even to those who unsubscribed.
    The outbox wakes a worker when the surrounding transaction commits; the beat scan catches anything missed.
    """
    with schema_context(tenant.schema_name):
        row = outbox_enqueue(
            key=key,
            to=to,
            subject=subject,
            body=body,
            kind=MailKind.TRANSACTIONAL,
            candidate_id=candidate_id,
        )
    return row.pk


def incident_mails_send(*, tenant: Tenant, mails: list[tuple[str, str, str, str]]) -> int:
    """Queue several e-mails (to, subject, body, key) in one company's outbox at once; idempotent on the keys.

    Transactional like `incident_mail_send`; one INSERT and one outbox wake-up for the company.
    """
    messages = [
        {"key": key, "to": to, "subject": subject, "body": body, "kind": MailKind.TRANSACTIONAL}
        for to, subject, body, key in mails
    ]
    with schema_context(tenant.schema_name):
        return outbox_enqueue_many(messages=messages)


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
    """Internal reminders to the support team (no company, no personal data; no tenant outbox to use)."""
    send_mail(subject, body, None, [settings.SUPPORT_EMAIL], fail_silently=False)
