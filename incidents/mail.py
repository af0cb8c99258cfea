"""Incident mail to companies, through their outbox (notifications sends; the watchdog's direct mail too)."""

from __future__ import annotations

import logging

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
