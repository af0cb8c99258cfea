"""The APPI data-leak workflow: awareness, classification, report clocks, checklist, student notices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from incidents.errors import IncidentError
from incidents.mail import incident_mail_send
from incidents.models import AffectedStudent, DataCategory, DataIncident, Incident
from incidents.services.audit import staff_audit
from notifications.services.direct import support_mail_send
from tenants.models import Tenant

PRELIMINARY_DAYS = 3  # the PPC guideline: "promptly", about 3–5 days; we hold ourselves to the early end
FINAL_DAYS = 30
FINAL_DAYS_MALICIOUS = 60
MANY_PEOPLE = 1000

# 個人情報保護法施行規則 第7条 / 第8条: the nine items of a report to the PPC.
REPORT_ITEMS = [
    ("overview", _("概要")),
    ("categories", _("漏えい等が発生し、又は発生したおそれがある個人データの項目")),
    ("people", _("漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数")),
    ("cause", _("原因")),
    ("secondary", _("二次被害又はそのおそれの有無及びその内容")),
    ("individuals", _("本人への対応の実施状況")),
    ("publication", _("公表の実施状況")),
    ("prevention", _("再発防止のための措置")),
    ("other", _("その他参考となる事項")),
]


def _end_of_day(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def report_due_dates(*, aware_at: datetime, malicious: bool) -> tuple[datetime, datetime]:
    """速報 and 確報 deadlines, counted in calendar days from the (Japan) day of awareness."""
    tz = timezone.get_default_timezone()
    day = timezone.localtime(aware_at, tz).date()
    preliminary = _end_of_day(day + timedelta(days=PRELIMINARY_DAYS), tz)
    final = _end_of_day(day + timedelta(days=FINAL_DAYS_MALICIOUS if malicious else FINAL_DAYS), tz)
    return preliminary, final


def report_triggers(*, data: DataIncident) -> list[str]:
    """Which of the mandatory-report triggers apply (empty: reporting is recommended, not mandatory)."""
    triggers = []
    if data.sensitive or DataCategory.SENSITIVE in data.categories:
        triggers.append(gettext("要配慮個人情報が含まれる"))
    if data.financial_risk or DataCategory.FINANCIAL in data.categories:
        triggers.append(gettext("財産的被害が生じるおそれがある"))
    if data.malicious:
        triggers.append(gettext("不正の目的をもって行われたおそれがある"))
    if max(data.students.count(), data.people_estimate) > MANY_PEOPLE:
        triggers.append(gettext("本人の数が1,000人を超える"))
    return triggers


@transaction.atomic
def data_incident_attach(*, incident: Incident, aware_at: datetime) -> DataIncident:
    preliminary, final = report_due_dates(aware_at=aware_at, malicious=False)
    data, _ = DataIncident.objects.get_or_create(
        incident=incident,
        defaults={
            "aware_at": aware_at,
            "preliminary_due": preliminary,
            "final_due": final,
            "checklist": {key: "" for key, _label in REPORT_ITEMS},
        },
    )
    Incident.objects.filter(pk=incident.pk).update(is_data_incident=True)
    return data


@transaction.atomic
def data_incident_classify(
    *,
    actor: Any,
    data: DataIncident,
    aware_at: datetime,
    categories: Iterable[str],
    sensitive: bool,
    financial_risk: bool,
    malicious: bool,
) -> DataIncident:
    categories = sorted(set(categories))
    unknown = [value for value in categories if value not in DataCategory.values]
    if unknown:
        raise IncidentError(gettext("データの項目に不明な値があります。"))
    if aware_at > timezone.now() + timedelta(minutes=5):
        raise IncidentError(gettext("把握した日時に未来の日時は指定できません。"))
    preliminary, final = report_due_dates(aware_at=aware_at, malicious=malicious)
    DataIncident.objects.filter(pk=data.pk).update(
        aware_at=aware_at,
        categories=categories,
        sensitive=sensitive,
        financial_risk=financial_risk,
        malicious=malicious,
        preliminary_due=preliminary,
        final_due=final,
    )
    data.refresh_from_db()
    staff_audit(
        actor=actor,
        action="leak.classify",
        target=data.incident,
        detail={"triggers": report_triggers(data=data)},
    )
    return data


@transaction.atomic
def data_incident_checklist_set(*, actor: Any, data: DataIncident, items: dict[str, str]) -> DataIncident:
    checklist = dict(data.checklist)
    for key, _label in REPORT_ITEMS:
        if key in items:
            checklist[key] = items[key].strip()[:4000]
    DataIncident.objects.filter(pk=data.pk).update(checklist=checklist)
    data.refresh_from_db()
    staff_audit(actor=actor, action="leak.checklist", target=data.incident)
    return data


@transaction.atomic
def data_incident_report_sent(*, actor: Any, data: DataIncident, which: str) -> DataIncident:
    if which == "final":
        missing = [str(label) for key, label in REPORT_ITEMS if not str(data.checklist.get(key, "")).strip()]
        if missing:
            raise IncidentError(
                gettext("確報には 9 項目すべての記載が必要です。未記入: %(missing)s")
                % {"missing": gettext("、").join(missing)}
            )
        DataIncident.objects.filter(pk=data.pk).update(final_sent_at=timezone.now())
    elif which == "preliminary":
        DataIncident.objects.filter(pk=data.pk).update(preliminary_sent_at=timezone.now())
    else:
        raise IncidentError(gettext("報告の種類が正しくありません。"))
    data.refresh_from_db()
    staff_audit(actor=actor, action=f"leak.report_{which}", target=data.incident)
    return data


def affected_students_add(
    *, data_incident: DataIncident, tenant: Tenant, candidate_ids: Iterable[int]
) -> int:
    rows = [
        AffectedStudent(data_incident=data_incident, tenant=tenant, candidate_id=cid) for cid in candidate_ids
    ]
    return len(AffectedStudent.objects.bulk_create(rows, ignore_conflicts=True))


def data_incident_reminders(*, now: datetime | None = None) -> list[tuple[int, str]]:
    """Remind support a day before the 速報 deadline and a week before the 確報 deadline."""
    now = now or timezone.now()
    sent = []
    checks = [
        (
            "preliminary",
            "preliminary_due",
            "preliminary_sent_at",
            "preliminary_reminded_at",
            timedelta(days=1),
            gettext("速報"),
        ),
        ("final", "final_due", "final_sent_at", "final_reminded_at", timedelta(days=7), gettext("確報")),
    ]
    for which, due_field, sent_field, reminded_field, ahead, label in checks:
        due = DataIncident.objects.filter(
            **{
                f"{sent_field}__isnull": True,
                f"{reminded_field}__isnull": True,
                f"{due_field}__lte": now + ahead,
            }
        ).select_related("incident")
        for data in due:
            if DataIncident.objects.filter(pk=data.pk, **{f"{reminded_field}__isnull": True}).update(
                **{reminded_field: now}
            ):
                deadline = timezone.localtime(getattr(data, due_field))
                support_mail_send(
                    subject=gettext("【%(report)s期限が近づいています】障害 #%(number)s %(title)s")
                    % {"report": label, "number": data.incident_id, "title": data.incident.title},
                    body=gettext("個人情報保護委員会への%(report)sの期限は %(deadline)s です。")
                    % {"report": label, "deadline": f"{deadline:%Y-%m-%d %H:%M}"}
                    + "\n"
                    + gettext("報告事項のチェックリストを確認してください。"),
                )
                sent.append((data.pk, which))
    return sent


NOTICE_TEMPLATE = _(
    "%(company)s から、個人データの漏えい等に関する大切なお知らせです。\n"
    "\n"
    "このたび、当社が採用活動のために利用しているシステムにおいて、あなたの個人データが漏えいした"
    "（またはそのおそれがある）ことが判明しました。ご迷惑とご心配をおかけし、深くお詫び申し上げます。\n"
    "\n"
    "1. 概要: %(overview)s\n"
    "2. 漏えい等が発生し、又は発生したおそれがある個人データの項目: %(categories)s\n"
    "3. 原因: %(cause)s\n"
    "4. 二次被害又はそのおそれの有無及びその内容: %(secondary)s\n"
    "5. その他参考となる事項: %(other)s\n"
    "\n"
    "不審な連絡にご注意ください。お問い合わせは %(company)s の採用担当までお願いいたします。\n"
)


def student_notice_default(*, data: DataIncident, tenant: Tenant) -> str:
    labels = [DataCategory(value).label for value in data.categories if value in DataCategory.values]
    checklist = data.checklist or {}
    unknown = gettext("調査中")
    return str(NOTICE_TEMPLATE) % {
        "company": tenant.name,
        "overview": checklist.get("overview") or unknown,
        "categories": gettext("、").join(str(label) for label in labels) or unknown,
        "cause": checklist.get("cause") or unknown,
        "secondary": checklist.get("secondary") or gettext("現時点で確認されていません"),
        "other": checklist.get("other") or gettext("なし"),
    }


def student_notices_send(*, data_incident_id: int, tenant_id: int, subject: str, body: str) -> int:
    """Send the company's notice to each affected student of that company; per-student delivery is tracked."""
    from candidates.models import Candidate

    tenant = Tenant.objects.get(pk=tenant_id)
    pending = list(
        AffectedStudent.objects.filter(
            data_incident_id=data_incident_id, tenant=tenant, notice_sent_at__isnull=True
        )
    )
    with schema_context(tenant.schema_name):
        emails = dict(
            Candidate.objects.filter(pk__in=[row.candidate_id for row in pending]).values_list("pk", "email")
        )
    sent = 0
    for row in pending:
        email = emails.get(row.candidate_id) or ""
        if "@" not in email:
            AffectedStudent.objects.filter(pk=row.pk).update(notice_error=gettext("メールアドレスなし"))
            continue
        key = f"leak-notice:{data_incident_id}:{row.candidate_id}"
        try:
            # The outbox row and "notice queued" commit together; delivery is tracked on the row (notice_key).
            with transaction.atomic():
                incident_mail_send(
                    tenant=tenant,
                    to=email,
                    subject=subject,
                    body=body,
                    key=key,
                    candidate_id=row.candidate_id,
                )
                AffectedStudent.objects.filter(pk=row.pk).update(
                    notice_sent_at=timezone.now(), notice_key=key, notice_error=""
                )
        except Exception as error:
            AffectedStudent.objects.filter(pk=row.pk).update(notice_error=type(error).__name__[:200])
            continue
        sent += 1
    return sent


def student_notices_queue(*, data: DataIncident, tenant: Tenant, subject: str, body: str) -> int:
    if not subject.strip() or not body.strip():
        raise IncidentError(gettext("件名と本文を入力してください。"))
    count = AffectedStudent.objects.filter(
        data_incident=data, tenant=tenant, notice_sent_at__isnull=True
    ).count()
    if count == 0:
        raise IncidentError(gettext("通知が必要な学生はいません。"))
    from incidents.tasks import student_notice_task

    data_id, tenant_id = data.pk, tenant.pk
    transaction.on_commit(
        lambda: student_notice_task.delay(
            data_incident_id=data_id, tenant_id=tenant_id, subject=subject, body=body
        )
    )
    return count


def support_address() -> str:
    return settings.SUPPORT_EMAIL  # type: ignore[no-any-return]
