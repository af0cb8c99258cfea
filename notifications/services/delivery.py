"""Outbox delivery: claim due rows (FOR UPDATE SKIP LOCKED), send each through Django's mail backend, record."""

from __future__ import annotations

import datetime as dt
import json
import logging
import smtplib
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_tenants.utils import schema_context

from candidates.models import Candidate
from notifications import conf
from notifications.models import MailKind, OutboxStatus, Unsubscribe
from notifications.services.ratelimit import ratelimit_refund, ratelimit_take
from notifications.services.schedule import in_quiet_hours, mail_settings_get
from notifications.services.templating import template_render
from notifications.services.unsubscribe import unsubscribe_headers, unsubscribe_url
from notifications.services.variables import (
    candidate_values,
    links_withheld,
    tenant_for_schema,
    text_withhold,
)
from webhooks.events import EventType, event_emit

logger = logging.getLogger(__name__)

_COLUMNS = (
    "id, idempotency_key, candidate_id, to_address, subject, body, html_body, headers, kind,"
    " needs_render, render_context, attempts"
)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    rate_limited: bool = False
    remaining: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class _Row:
    id: int
    key: str
    candidate_id: int | None
    to: str
    subject: str
    body: str
    html_body: str
    headers: dict[str, str]
    kind: str
    needs_render: bool
    render_context: dict[str, Any]
    attempts: int


def _claim(*, limit: int, now: dt.datetime, transactional_only: bool) -> list[_Row]:
    """Mark up to `limit` due rows as ours until the lease ends; committed before anything is sent."""
    lease_until = now + dt.timedelta(seconds=conf.lease_seconds())
    kind_filter = "AND kind = 'transactional'" if transactional_only else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE notifications_outboxmessage
               SET status = 'sending', lease_until = %s, attempts = attempts + 1
             WHERE id IN (
                   SELECT id FROM notifications_outboxmessage
                    WHERE ((status = 'queued' AND next_attempt_at <= %s)
                        OR (status = 'sending' AND lease_until < %s)) {kind_filter}
                    ORDER BY next_attempt_at, id
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED)
            RETURNING {_COLUMNS}
            """,
            [lease_until, now, now, limit],
        )
        rows = [_Row(*values) for values in cursor.fetchall()]
    for row in rows:
        # Django leaves jsonb undecoded on raw cursors.
        if isinstance(row.headers, str):
            row.headers = json.loads(row.headers)
        if isinstance(row.render_context, str):
            row.render_context = json.loads(row.render_context)
    rows.sort(key=lambda row: row.id)
    return rows


def _finish(*, row_id: int, status: str, **fields: Any) -> None:
    # Only the worker holding the lease may record an outcome.
    from notifications.models import OutboxMessage

    OutboxMessage.objects.filter(id=row_id, status=OutboxStatus.SENDING).update(
        status=status, lease_until=None, **fields
    )


def _release(rows: list[_Row]) -> None:
    from notifications.models import OutboxMessage

    for row in rows:
        OutboxMessage.objects.filter(id=row.id, status=OutboxStatus.SENDING).update(
            status=OutboxStatus.QUEUED, lease_until=None, attempts=row.attempts - 1
        )


def _classify(error: Exception) -> tuple[bool, str]:
    """(permanent, description). 5xx replies are permanent; 4xx, refused or dropped connections are not."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        # i18n: data — the delivery error is recorded on the row as it happened
        return bool(codes) and all(code >= 500 for code in codes), f"SMTP {codes} 宛先拒否"
    if isinstance(error, smtplib.SMTPSenderRefused):
        return False, f"SMTP {error.smtp_code} 送信元拒否"  # i18n: data
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500, f"SMTP {error.smtp_code}"
    return False, f"{type(error).__name__}"


def _backoff(attempts: int) -> dt.timedelta:
    seconds = min(conf.retry_base_seconds() * (2 ** max(attempts - 1, 0)), conf.retry_max_seconds())
    return dt.timedelta(seconds=seconds)


def outbox_deliver_due(
    *, schema_name: str, max_messages: int = 1000, time_budget_s: float = 20.0
) -> DeliveryReport:
    """Send this tenant's due rows, one commit per outcome, until none are due or the budget is spent."""
    report = DeliveryReport()
    started = time.monotonic()
    with schema_context(schema_name):
        tenant = tenant_for_schema(schema_name=schema_name)
        host = tenant.get_primary_domain().domain
        window = mail_settings_get()
        # A send must finish well inside the lease, or another worker could take the row meanwhile.
        smtp_timeout = min(conf.smtp_timeout_seconds(), conf.lease_seconds() / 3)
        margin = smtp_timeout + min(1.0, conf.lease_seconds() / 6)
        mail = get_connection(fail_silently=False, timeout=smtp_timeout)
        try:
            while report.sent + report.failed + report.retried + report.skipped < max_messages:
                if time.monotonic() - started > time_budget_s:
                    report.remaining = True
                    break
                now = timezone.now()
                # Measured before the claim, so our deadline is never later than the lease in the row.
                lease_end = time.monotonic() + conf.lease_seconds()
                quiet = in_quiet_hours(at=now, start=window.quiet_start, end=window.quiet_end)
                allowed = ratelimit_take(
                    schema_name=schema_name, rate_per_second=window.rate_per_second, want=conf.claim_batch()
                )
                if allowed == 0:
                    report.rate_limited = report.remaining = True
                    break
                rows = _claim(limit=allowed, now=now, transactional_only=quiet)
                ratelimit_refund(schema_name=schema_name, tokens=allowed - len(rows))
                if not rows:
                    break
                candidates = _candidates(rows)
                opted_out = set(
                    Unsubscribe.objects.filter(candidate_id__in=list(candidates)).values_list(
                        "candidate_id", flat=True
                    )
                )
                for index, row in enumerate(rows):
                    # Never send on an expired lease: another worker may own the row by now.
                    if time.monotonic() > lease_end - margin:
                        _release(rows[index:])
                        report.remaining = True
                        break
                    outcome = _deliver_one(
                        row=row,
                        mail=mail,
                        schema_name=schema_name,
                        tenant=tenant,
                        host=host,
                        candidate=candidates.get(row.candidate_id) if row.candidate_id else None,
                        opted_out=row.candidate_id in opted_out,
                    )
                    setattr(report, outcome, getattr(report, outcome) + 1)
                    if outcome in ("retried", "failed"):
                        # The connection may be unusable after an error: start a fresh one.
                        mail.close()
            else:
                report.remaining = True
        finally:
            mail.close()
    return report


def _candidates(rows: list[_Row]) -> dict[int, dict[str, Any]]:
    ids = {row.candidate_id for row in rows if row.candidate_id}
    if not ids:
        return {}
    return {
        values["id"]: values  # type: ignore[misc]
        for values in Candidate.objects.filter(id__in=ids).values(
            "id",
            "family_name",
            "given_name",
            "family_kana",
            "given_kana",
            "university",
            "email_undeliverable",
        )
    }


def _deliver_one(
    *,
    row: _Row,
    mail: Any,
    schema_name: str,
    tenant: Any,
    host: str,
    candidate: dict[str, Any] | None,
    opted_out: bool,
) -> str:
    marketing = row.kind == MailKind.MARKETING
    if candidate is not None and candidate["email_undeliverable"]:
        _finish(
            row_id=row.id,
            status=OutboxStatus.UNDELIVERABLE,
            error=gettext_noop("不達アドレスのため送信しませんでした"),
        )
        return "skipped"
    if marketing and opted_out:
        _finish(
            row_id=row.id,
            status=OutboxStatus.SUPPRESSED,
            error=gettext_noop("配信停止済みのため送信しませんでした"),
        )
        return "skipped"
    subject, body, headers = row.subject, row.body, dict(row.headers)
    if marketing and row.candidate_id:
        link = unsubscribe_url(
            host=host, schema_name=schema_name, candidate_id=row.candidate_id, message_id=row.id
        )
        headers.update(unsubscribe_headers(url=link))
    else:
        link = ""
    values = {"配信停止URL": link}  # i18n: data — a template variable's name
    if row.needs_render:
        values = candidate_values(
            tenant=tenant,
            host=host,
            candidate=candidate or {},
            context=row.render_context,
            unsubscribe_link=link,
        )
        subject, body = template_render(subject, values), template_render(body, values)
    withheld = links_withheld(host=host, values=values)
    if link and link not in body:
        body = f"{body.rstrip()}\n\n----\n" + gettext("配信停止はこちら: %(link)s") % {"link": link} + "\n"
    message_id = f"<outbox-{schema_name}-{row.id}@{settings.BASE_DOMAIN}>"
    headers["Message-ID"] = message_id
    message = EmailMultiAlternatives(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[row.to], headers=headers
    )
    if row.html_body:
        message.attach_alternative(row.html_body, "text/html")
    try:
        mail.open()  # no-op while the connection is up
        mail.send_messages([message])
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the row
        permanent, description = _classify(error)
        logger.info(
            "outbox send failed", extra={"tenant": schema_name, "outbox_id": row.id, "error": description}
        )
        if permanent:
            with transaction.atomic():
                _finish(
                    row_id=row.id,
                    status=OutboxStatus.FAILED,
                    error=description,
                    subject=text_withhold(subject, withheld),
                    body=text_withhold(body, withheld),
                )
                if row.candidate_id:
                    Candidate.objects.filter(id=row.candidate_id).update(email_undeliverable=True)
                # The company's webhooks hear of the bounce: which mail and student, never the address.
                event_emit(
                    event_type=EventType.MAIL_BOUNCED,
                    data={"mail_id": row.id, "candidate_id": row.candidate_id, "permanent": True},
                )
            return "failed"
        if row.attempts >= conf.max_attempts():
            # i18n: data — the delivery error is recorded on the row as it happened
            _finish(row_id=row.id, status=OutboxStatus.FAILED, error=f"{description}（再試行の上限）")
            return "failed"
        _finish(
            row_id=row.id,
            status=OutboxStatus.QUEUED,
            error=description,
            next_attempt_at=timezone.now() + _backoff(row.attempts),
        )
        return "retried"
    # The receiving server has the mail: record it at once (the only window for a duplicate is here).
    _finish(
        row_id=row.id,
        status=OutboxStatus.SENT,
        sent_at=timezone.now(),
        subject=text_withhold(subject, withheld),
        body=text_withhold(body, withheld),
        headers={name: text_withhold(value, withheld) for name, value in headers.items()},
        needs_render=False,
        error="",
    )
    return "sent"
