"""Scheduled maintenance: create, remind before start, start and complete on time (beat-driven)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import site_url
from incidents.banners import Audience, maintenance_banner
from incidents.context_processors import student_banners_forget
from incidents.errors import IncidentError
from incidents.mail import incident_mail_send
from incidents.models import Component, Maintenance, MaintenanceState, Scope, Visibility
from incidents.selectors import maintenance_affected_tenants
from incidents.services.audit import staff_audit
from notifications.services import recruiters_push, students_push_many
from tenants.models import Tenant
from tenants.services import tenant_domain

PHASE_TEXT = {
    "scheduled": gettext_lazy("メンテナンスを予定しています"),
    "reminder": gettext_lazy("まもなくメンテナンスを開始します"),
    "started": gettext_lazy("メンテナンスを開始しました"),
    "completed": gettext_lazy("メンテナンスが完了しました"),
}


def reminder_hours() -> int:
    return int(settings.INCIDENT_MAINTENANCE_REMINDER_HOURS)


@transaction.atomic
def maintenance_create(
    *,
    actor: Any,
    title: str,
    message_ja: str,
    starts_at: datetime,
    ends_at: datetime,
    components: Iterable[Component] = (),
    scope: str = Scope.ALL,
    tenants: Iterable[Tenant] = (),
    visibility: str = Visibility.PUBLIC,
    message_en: str = "",
) -> Maintenance:
    if not title.strip() or not message_ja.strip():
        raise IncidentError(gettext("件名と内容を入力してください。"))
    if ends_at <= starts_at:
        raise IncidentError(gettext("終了予定は開始予定より後にしてください。"))
    tenants = list(tenants)
    if scope != Scope.ALL and not tenants:
        raise IncidentError(gettext("影響を受ける企業を選んでください。"))
    maintenance = Maintenance.objects.create(
        title=title.strip(),
        message_ja=message_ja.strip(),
        message_en=message_en.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        scope=scope,
        visibility=visibility,
    )
    maintenance.components.set(list(components))
    if scope != Scope.ALL:
        maintenance.tenants.set(tenants)
    staff_audit(actor=actor, action="maintenance.create", target=maintenance)
    _notify_on_commit(maintenance, "scheduled")
    return maintenance


def _notify_on_commit(maintenance: Maintenance, phase: str) -> None:
    if maintenance.visibility == Visibility.DRAFT:
        return
    from incidents.tasks import maintenance_notify_task

    maintenance_id = maintenance.pk
    transaction.on_commit(lambda: maintenance_notify_task.delay(maintenance_id=maintenance_id, phase=phase))


def maintenance_tick(*, now: datetime | None = None) -> dict[str, int]:
    """Send due reminders and move windows along scheduled → in progress → completed."""
    now = now or timezone.now()
    counts = {"reminded": 0, "started": 0, "completed": 0}
    with transaction.atomic():
        for maintenance in Maintenance.objects.filter(
            state=MaintenanceState.SCHEDULED,
            reminder_sent_at__isnull=True,
            starts_at__gt=now,
            starts_at__lte=now + timedelta(hours=reminder_hours()),
        ):
            if Maintenance.objects.filter(pk=maintenance.pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            ):
                counts["reminded"] += 1
                _notify_on_commit(maintenance, "reminder")
        for maintenance in Maintenance.objects.filter(state=MaintenanceState.SCHEDULED, starts_at__lte=now):
            if Maintenance.objects.filter(pk=maintenance.pk, state=MaintenanceState.SCHEDULED).update(
                state=MaintenanceState.IN_PROGRESS, started_at=now
            ):
                counts["started"] += 1
                _notify_on_commit(maintenance, "started")
        for maintenance in Maintenance.objects.filter(state=MaintenanceState.IN_PROGRESS, ends_at__lte=now):
            if Maintenance.objects.filter(pk=maintenance.pk, state=MaintenanceState.IN_PROGRESS).update(
                state=MaintenanceState.COMPLETED, completed_at=now
            ):
                counts["completed"] += 1
                _notify_on_commit(maintenance, "completed")
    return counts


def maintenance_notify(*, maintenance_id: int, phase: str) -> int:
    """Banner to signed-in recruiters and e-mail to admins of every affected company."""
    maintenance = Maintenance.objects.get(pk=maintenance_id)
    when = gettext("%(starts)s〜%(ends)s") % {
        "starts": f"{timezone.localtime(maintenance.starts_at):%Y-%m-%d %H:%M}",
        "ends": f"{timezone.localtime(maintenance.ends_at):%Y-%m-%d %H:%M}",
    }
    phase_text = str(PHASE_TEXT[phase])
    text = gettext("【メンテナンス】%(phase)s: %(title)s（%(when)s）") % {
        "phase": phase_text,
        "title": maintenance.title,
        "when": when,
    }
    banner = maintenance_banner(maintenance=maintenance, audience=Audience.RECRUITERS)
    assert banner is not None  # recruiters see every maintenance that affects their company
    # The phase's own words; a new phase shows the banner again where the last one was dismissed.
    event = banner.as_event() | {"text": text, "version": phase, "over": phase == "completed"}
    student_banner = maintenance_banner(maintenance=maintenance, audience=Audience.STUDENTS)
    student_event = student_banner.as_event() if student_banner is not None else None
    sent = 0
    for tenant in maintenance_affected_tenants(maintenance=maintenance):
        recruiters_push(tenant=tenant, event=event)
        if student_event is not None:
            student_banners_forget(tenants=[tenant])
            students_push_many(tenants=[tenant], event=student_event)
        if phase == "started":
            continue  # the reminder already went by e-mail; the banner is enough at start
        with schema_context(tenant.schema_name):
            admins = list(User.objects.filter(role=Role.ADMIN, is_active=True).values_list("pk", "email"))
        status_url = site_url(host=tenant_domain(slug=tenant.slug), path="/status/")
        body = (
            gettext("%(company)s ご担当者様") % {"company": tenant.name}
            + "\n\n"
            + gettext("%(phase)s。") % {"phase": phase_text}
            + "\n\n"
            + gettext("件名: %(title)s") % {"title": maintenance.title}
            + "\n"
            + gettext("日時: %(when)s") % {"when": when}
            + f"\n\n{maintenance.message_ja}\n\n"
            + gettext("状況: %(url)s") % {"url": status_url}
            + "\n"
        )
        with schema_context(tenant.schema_name), transaction.atomic():  # one outbox wake-up per company
            for user_id, email in admins:
                incident_mail_send(
                    tenant=tenant,
                    to=email,
                    subject=gettext("[%(company)s] 【メンテナンス】%(phase)s: %(title)s")
                    % {"company": tenant.name, "phase": phase_text, "title": maintenance.title},
                    body=body,
                    key=f"maintenance:{maintenance.pk}:{phase}:{user_id}",
                )
                sent += 1
    return sent
