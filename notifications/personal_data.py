"""What notifications holds about a student (mails, step-mail runs, events, unsubscribe), for 開示・削除・利用停止.

Registered with `candidates.personal_data` in `NotificationsConfig.ready()`, together with the mailer
that carries privacy notices to students through the outbox. Erasing keeps each outbox row (delivery
figures stay right) without its recipient, subject or body; mails still queued are never sent.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from candidates.personal_data import ERASED_NOTICE_PREFIX, PersonalDataHolder
from notifications.models import (
    CandidateEvent,
    Enrollment,
    MailKind,
    OutboxMessage,
    OutboxStatus,
    Unsubscribe,
)

ERASED_SUBJECT = "（削除済み）"  # i18n: data — what an erased mail's stored subject becomes
_FINAL = [OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.UNDELIVERABLE, OutboxStatus.SUPPRESSED]


def _time(value: Any) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _addresses(candidate_ids: list[int]) -> set[str]:
    """Every address the students used, so mails not linked to their record are found too."""
    from candidates.models import Candidate, CandidateKey, Entry

    found = set(
        Candidate.objects.filter(pk__in=candidate_ids).exclude(email="").values_list("email", flat=True)
    )
    found |= set(
        Entry.objects.filter(candidate_id__in=candidate_ids).exclude(email="").values_list("email", flat=True)
    )
    found |= set(
        CandidateKey.objects.filter(candidate_id__in=candidate_ids, kind=CandidateKey.Kind.EMAIL).values_list(
            "value", flat=True
        )
    )
    return {address.lower() for address in found}


def _mails(candidate_ids: list[int]):
    addresses = _addresses(candidate_ids)
    query = Q(candidate_id__in=candidate_ids)
    if addresses:
        query |= Q(to_address__in=addresses)
    return OutboxMessage.objects.filter(query).exclude(subject=ERASED_SUBJECT, to_address="")


def mail_collect(candidate_ids: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "type": "mail",
            "to": mail.to_address,
            "subject": mail.subject,
            "body": mail.body,
            "status": mail.get_status_display(),
            "created_at": _time(mail.created_at),
            "sent_at": _time(mail.sent_at),
        }
        for mail in _mails(candidate_ids).order_by("created_at", "id")
    ]
    for enrollment in Enrollment.objects.filter(candidate_id__in=candidate_ids).select_related("sequence"):
        rows.append(
            {
                "type": "step_mail",
                "sequence": enrollment.sequence.name,
                "started_at": _time(enrollment.created_at),
                "stopped_at": _time(enrollment.stopped_at),
            }
        )
    for event in CandidateEvent.objects.filter(candidate_id__in=candidate_ids).order_by("occurred_at"):
        rows.append(
            {"type": "event", "event": event.get_event_display(), "occurred_at": _time(event.occurred_at)}
        )
    for unsubscribe in Unsubscribe.objects.filter(candidate_id__in=candidate_ids):
        rows.append({"type": "unsubscribed", "at": _time(unsubscribe.created_at)})
    return rows


def mail_erase(candidate_ids: list[int], *, keep_statistics: bool) -> int:
    mails = _mails(candidate_ids)
    # Never sent after the erasure: a queued mail would carry the student's name and address.
    mails.filter(status__in=[OutboxStatus.QUEUED, OutboxStatus.SENDING]).update(
        status=OutboxStatus.SUPPRESSED
    )
    count = mails.update(
        candidate=None,
        to_address="",
        subject=ERASED_SUBJECT,
        body="",
        html_body="",
        headers={},
        render_context={},
        error="",
    )
    count += Enrollment.objects.filter(candidate_id__in=candidate_ids).delete()[0]
    count += CandidateEvent.objects.filter(candidate_id__in=candidate_ids).delete()[0]
    count += Unsubscribe.objects.filter(candidate_id__in=candidate_ids).delete()[0]
    return count


def mail_stop_use(candidate_ids: list[int]) -> int:
    """利用停止: no more marketing or step mails; transactional mails about bookings still go."""
    now = timezone.now()
    for candidate_id in candidate_ids:
        Unsubscribe.objects.get_or_create(candidate_id=candidate_id)
    # i18n: data — the reason is recorded on the enrolment as it happened
    stopped = Enrollment.objects.filter(candidate_id__in=candidate_ids, stopped_at__isnull=True).update(
        stopped_at=now, stop_reason="利用停止の請求"
    )
    suppressed = (
        OutboxMessage.objects.filter(
            candidate_id__in=candidate_ids,
            status=OutboxStatus.QUEUED,
        )
        .filter(Q(kind=MailKind.MARKETING) | Q(sequence_step__isnull=False))
        .update(status=OutboxStatus.SUPPRESSED, error=gettext_noop("利用停止の請求により送信しませんでした"))
    )
    return stopped + suppressed


def privacy_mail(*, key: str, to: str, subject: str, body: str, candidate_id: int | None) -> None:
    from notifications.services.outbox import outbox_enqueue

    outbox_enqueue(
        key=key, to=to, subject=subject, body=body, kind=MailKind.TRANSACTIONAL, candidate_id=candidate_id
    )


def erased_notices_scrub() -> int:
    """Blank the address of notices sent to students who are erased, once they are sent (or given up)."""
    return (
        OutboxMessage.objects.filter(idempotency_key__startswith=ERASED_NOTICE_PREFIX, status__in=_FINAL)
        .exclude(to_address="")
        .update(to_address="", subject=ERASED_SUBJECT, body="", html_body="", headers={})
    )


def mail_holder() -> PersonalDataHolder:
    return PersonalDataHolder(
        key="mail",
        label=_("メール・ステップメール・配信停止"),
        collect=mail_collect,
        erase=mail_erase,
        stop_use=mail_stop_use,
    )
