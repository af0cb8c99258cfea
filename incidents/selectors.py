"""Reads: what each audience (public, one company, support) may see; status, history, notices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

from incidents.models import (
    Acknowledgement,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceState,
    ProbeDay,
    Scope,
    State,
    Visibility,
)
from saas.dates import when
from tenants.models import Tenant
from tenants.selectors import tenant_all

STATUS_ORDER = [
    ComponentStatus.OPERATIONAL,
    ComponentStatus.MAINTENANCE,
    ComponentStatus.DEGRADED,
    ComponentStatus.PARTIAL,
    ComponentStatus.MAJOR,
]
IMPACT_STATUS = {
    Impact.NONE: ComponentStatus.OPERATIONAL,
    Impact.MINOR: ComponentStatus.DEGRADED,
    Impact.MAJOR: ComponentStatus.PARTIAL,
    Impact.CRITICAL: ComponentStatus.MAJOR,
}


def _affects(model: type[Incident] | type[Maintenance], tenant: Tenant) -> Q:
    through = model.tenants.through
    field = "incident_id" if model is Incident else "maintenance_id"
    chosen = Exists(through.objects.filter(**{field: OuterRef("pk")}, tenant_id=tenant.pk))
    return Q(scope=Scope.ALL) | Q(chosen)


def incidents_visible(*, tenant: Tenant | None) -> QuerySet[Incident]:
    """Public incidents, plus (for a company) those shared with the companies they affect when it is one."""
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return Incident.objects.filter(visibility=Visibility.PUBLIC)
    return Incident.objects.filter(
        Q(visibility=Visibility.PUBLIC) | (Q(visibility=Visibility.TENANTS) & _affects(Incident, tenant))
    )


def maintenances_visible(*, tenant: Tenant | None) -> QuerySet[Maintenance]:
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return Maintenance.objects.filter(visibility=Visibility.PUBLIC)
    return Maintenance.objects.filter(
        Q(visibility=Visibility.PUBLIC) | (Q(visibility=Visibility.TENANTS) & _affects(Maintenance, tenant))
    )


def incident_affects(*, incident: Incident, tenant: Tenant) -> bool:
    return incident.scope == Scope.ALL or incident.tenants.filter(pk=tenant.pk).exists()


def incident_affected_tenants(*, incident: Incident) -> QuerySet[Tenant]:
    tenants = tenant_all()
    if incident.scope == Scope.ALL:
        return tenants
    return tenants.filter(incidents=incident)


def maintenance_affected_tenants(*, maintenance: Maintenance) -> QuerySet[Tenant]:
    tenants = tenant_all()
    if maintenance.scope == Scope.ALL:
        return tenants
    return tenants.filter(maintenances=maintenance)


@dataclass(frozen=True)
class DayBar:
    """One day of a component's bar: the worst status its incidents gave it, and the share of good probes."""

    day: date
    level: str
    level_label: str
    uptime: float | None  # percent of the watchdog's probes that passed (None: none recorded that day)


@dataclass(frozen=True)
class ComponentView:
    component: Component
    status: str
    status_label: str
    history: list[tuple[date, str]]
    bars: list[DayBar]
    uptime: float | None  # percent over the days with recorded probes


def probe_days(*, since: date) -> dict[int, dict[date, tuple[int, int]]]:
    """Component id → day → (probes, failures) recorded by the watchdog since that day."""
    found: dict[int, dict[date, tuple[int, int]]] = {}
    for component_id, day, probes, failures in ProbeDay.objects.filter(day__gte=since).values_list(
        "component_id", "day", "probes", "failures"
    ):
        found.setdefault(component_id, {})[day] = (probes, failures)
    return found


def _percent(probes: int, failures: int) -> float | None:
    return round(100 * (probes - failures) / probes, 2) if probes else None


def _worse(a: str, b: str) -> str:
    return a if STATUS_ORDER.index(a) >= STATUS_ORDER.index(b) else b  # type: ignore[arg-type]


def status_overview(*, tenant: Tenant | None, days: int = 90) -> list[ComponentView]:
    """Each component's current status and a daily bar over `days`, from what this audience may see."""
    now = timezone.now()
    since = now - timedelta(days=days)
    incidents = list(
        incidents_visible(tenant=tenant)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
        .exclude(impact=Impact.NONE)
        .prefetch_related("components")
    )
    running = list(
        maintenances_visible(tenant=tenant)
        .filter(state=MaintenanceState.IN_PROGRESS)
        .prefetch_related("components")
    )
    today = timezone.localdate(now)
    first_day = today - timedelta(days=days - 1)
    probed = probe_days(since=first_day)
    views = []
    for component in Component.objects.all():
        status = component.status
        bars = {
            first_day + timedelta(days=offset): ComponentStatus.OPERATIONAL.value for offset in range(days)
        }
        for incident in incidents:
            if component not in incident.components.all():
                continue
            level = incident.component_status or IMPACT_STATUS[incident.impact]  # type: ignore[index]
            if incident.state != State.RESOLVED:
                status = _worse(status, level)
            start = timezone.localdate(max(incident.created_at, since))
            end = timezone.localdate(incident.resolved_at or now)
            day = start
            while day <= end:
                if day in bars:
                    bars[day] = _worse(bars[day], level)
                day += timedelta(days=1)
        for maintenance in running:
            if component in maintenance.components.all():
                status = _worse(status, ComponentStatus.MAINTENANCE)
        counts = probed.get(component.pk, {})
        views.append(
            ComponentView(
                component=component,
                status=status,
                status_label=ComponentStatus(status).label,  # type: ignore[arg-type]
                history=sorted(bars.items()),
                bars=[
                    DayBar(day, level, str(ComponentStatus(level).label), _percent(*counts.get(day, (0, 0))))
                    for day, level in sorted(bars.items())
                ],
                uptime=_percent(sum(p for p, _f in counts.values()), sum(f for _p, f in counts.values())),
            )
        )
    return views


def incidents_current(*, tenant: Tenant | None) -> QuerySet[Incident]:
    return (
        incidents_visible(tenant=tenant)
        .exclude(state=State.RESOLVED)
        .prefetch_related("updates", "components")
    )


def incidents_recent(*, tenant: Tenant | None, days: int = 90) -> QuerySet[Incident]:
    since = timezone.now() - timedelta(days=days)
    return (
        incidents_visible(tenant=tenant)
        .filter(state=State.RESOLVED, resolved_at__gte=since)
        .prefetch_related("updates", "components")
    )


def maintenances_upcoming(*, tenant: Tenant | None) -> QuerySet[Maintenance]:
    return maintenances_visible(tenant=tenant).exclude(state=MaintenanceState.COMPLETED)


def booking_notice_for(*, tenant: Tenant) -> str | None:
    """A plain notice for students on this company's My Page when booking is affected, else None."""
    banners = banners_for(tenant=tenant, audience=Audience.STUDENTS)
    return banners[0].text if banners else None


# ---- banners: the company's active incidents on every page it opens -----------------------------------------


class Audience(StrEnum):
    RECRUITERS = "recruiters"
    STUDENTS = "students"


BANNER_TIME_STYLE = "month_day_time"  # saas/dates.py: 12月19日 14:00 / 19 Dec 14:00
# The company's status page for students (on its own host, no sign-in): every student notice links to it.
STUDENT_STATUS_PATH = "/my/status/"
STUDENT_INCIDENT_TEXT = _(
    "現在、説明会の予約・マイページの一部機能がご利用しにくい状態になっています。"
    "復旧まで今しばらくお待ちください。ご迷惑をおかけし申し訳ございません。"
)
STUDENT_RESOLVED_TEXT = _(
    "説明会の予約・マイページの不具合は復旧しました。ご迷惑をおかけし申し訳ございません。"
)
STUDENT_MAINTENANCE_TEXT = _(
    "現在、システムメンテナンスのため説明会の予約・マイページの一部機能がご利用いただけません。"
)
STUDENT_MAINTENANCE_DONE_TEXT = _("システムメンテナンスは終了しました。ご協力ありがとうございました。")
MAINTENANCE_STATE_TEXT = {
    MaintenanceState.SCHEDULED: _("予定"),
    MaintenanceState.IN_PROGRESS: _("実施中"),
    MaintenanceState.COMPLETED: _("完了"),
}
# The Japanese title prefix of a maintenance posted as an incident (the watchdog's and support's convention).
MAINTENANCE_TITLE_PREFIX = "[メンテナンス]"  # i18n: data


@dataclass(frozen=True)
class Banner:
    """An incident or a running maintenance as one company's recruiters (or students) see it on every page."""

    key: str  # "incident-12", "maintenance-3": one banner per key on a page
    version: str  # changes with every update: a dismissal lasts for one version only
    text: str
    state: str  # the incident's or maintenance's state; "resolved"/"completed" end the banner
    url: str  # the incident's page ("" when this audience has none to open)
    started_at: datetime
    updated_at: datetime
    link_text: str = ""

    @property
    def started_label(self) -> str:
        return when(self.started_at, BANNER_TIME_STYLE)

    @property
    def updated_label(self) -> str:
        return when(self.updated_at, BANNER_TIME_STYLE)

    @property
    def is_over(self) -> bool:
        return self.state in (State.RESOLVED, MaintenanceState.COMPLETED)

    def as_event(self) -> dict[str, Any]:
        """The websocket push of this banner (static/js/events.js draws it as templates/_banners.html does)."""
        return {
            "type": "banner",
            "key": self.key,
            "version": self.version,
            "text": self.text,
            "state": self.state,
            "over": self.is_over,
            "url": self.url,
            "link_text": self.link_text,
            "started": self.started_label,
            "started_iso": self.started_at.isoformat(),
            "updated": self.updated_label,
            "updated_iso": self.updated_at.isoformat(),
        }


def _affects_booking(components: Iterable[Component]) -> bool:
    return any(component.affects_booking for component in components)


def incident_banner(
    *, incident: Incident, update: IncidentUpdate | None, audience: Audience
) -> Banner | None:
    """The banner of this incident for this audience (None: students are not affected by it)."""
    started = incident.published_at or incident.created_at
    updated = max(started, update.created_at) if update is not None else started
    if incident.state == State.RESOLVED and incident.resolved_at:
        updated = max(updated, incident.resolved_at)
    version = f"{update.pk if update is not None else 0}.{incident.state}"
    if audience == Audience.STUDENTS:
        if incident.impact == Impact.NONE or not _affects_booking(incident.components.all()):
            return None
        return Banner(
            key=f"incident-{incident.pk}",
            version=version,
            text=str(STUDENT_RESOLVED_TEXT if incident.state == State.RESOLVED else STUDENT_INCIDENT_TEXT),
            state=incident.state,
            url=STUDENT_STATUS_PATH,
            started_at=started,
            updated_at=updated,
            link_text=gettext("詳細"),
        )
    notice = (
        gettext("【メンテナンスのお知らせ・%(state)s】%(title)s")
        if incident.title.startswith(MAINTENANCE_TITLE_PREFIX)
        else gettext("【障害のお知らせ・%(state)s】%(title)s")
    )
    text = notice % {"state": State(incident.state).label, "title": incident.title_for_reader}
    if update is not None:
        text += f" — {update.message_for_reader[:140]}"
    return Banner(
        key=f"incident-{incident.pk}",
        version=version,
        text=text,
        state=incident.state,
        url=f"/status/incidents/{incident.pk}/",
        started_at=started,
        updated_at=updated,
        link_text=gettext("詳細・受領確認"),
    )


def maintenance_banner(*, maintenance: Maintenance, audience: Audience) -> Banner | None:
    """The banner of this maintenance for this audience (None: students are not affected by it)."""
    started = maintenance.started_at or maintenance.starts_at
    updated = maintenance.completed_at or started
    if audience == Audience.STUDENTS:
        if maintenance.state == MaintenanceState.SCHEDULED or not _affects_booking(
            maintenance.components.all()
        ):
            return None
        done = maintenance.state == MaintenanceState.COMPLETED
        text = str(STUDENT_MAINTENANCE_DONE_TEXT if done else STUDENT_MAINTENANCE_TEXT)
        url = STUDENT_STATUS_PATH
        link_text = gettext("詳細")
    else:
        text = gettext("【メンテナンス・%(state)s】%(title)s（%(starts)s〜%(ends)s）") % {
            "state": MAINTENANCE_STATE_TEXT[MaintenanceState(maintenance.state)],
            "title": maintenance.title,
            "starts": when(maintenance.starts_at, BANNER_TIME_STYLE),
            "ends": when(maintenance.ends_at, BANNER_TIME_STYLE),
        }
        url = "/status/"
        link_text = gettext("稼働状況")
    return Banner(
        key=f"maintenance-{maintenance.pk}",
        version=maintenance.state,
        text=text,
        state=maintenance.state,
        url=url,
        started_at=started,
        updated_at=updated,
        link_text=link_text,
    )


def banners_for(*, tenant: Tenant, audience: Audience) -> list[Banner]:
    """The banners every page of this company shows on load: its open incidents and running maintenances.

    Affecting this company, not merely visible to it: a public incident of another company stays quiet here.
    """
    latest = Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-created_at", "-id"))
    incidents = (
        Incident.objects.filter(_affects(Incident, tenant))
        .exclude(visibility=Visibility.DRAFT)
        .exclude(state=State.RESOLVED)
        .prefetch_related("components", latest)
        .order_by("-created_at", "-id")
    )
    maintenances = (
        Maintenance.objects.filter(_affects(Maintenance, tenant))
        .exclude(visibility=Visibility.DRAFT)
        .filter(state=MaintenanceState.IN_PROGRESS)
        .prefetch_related("components")
    )
    found = [
        incident_banner(incident=incident, update=next(iter(incident.updates.all()), None), audience=audience)
        for incident in incidents
    ] + [maintenance_banner(maintenance=maintenance, audience=audience) for maintenance in maintenances]
    return [banner for banner in found if banner is not None]


def acknowledgements_for(*, incident: Incident) -> QuerySet[Acknowledgement]:
    return Acknowledgement.objects.filter(incident=incident).select_related("tenant")


def incident_get_visible(*, tenant: Tenant | None, incident_id: int) -> Incident | None:
    return incidents_visible(tenant=tenant).filter(pk=incident_id).first()


def student_notice_statuses(*, tenant: Tenant, keys: list[str]) -> dict[str, str]:
    """Outbox key → delivery status label (送信待ち, 送信済み, 失敗 …) of the student notices in the company's outbox."""
    from django_tenants.utils import schema_context

    from notifications.models import OutboxMessage, OutboxStatus

    if not keys:
        return {}
    with schema_context(tenant.schema_name):
        rows = OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", "status")
        return {key: str(OutboxStatus(status).label) for key, status in rows}
