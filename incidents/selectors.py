"""Reads: what each audience (public, one company, support) may see; status, history, notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from incidents.models import (
    Acknowledgement,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    Maintenance,
    MaintenanceState,
    ProbeDay,
    Scope,
    State,
    Visibility,
)
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


def affecting(model: type[Incident] | type[Maintenance], tenant: Tenant) -> Q:
    through = model.tenants.through
    field = "incident_id" if model is Incident else "maintenance_id"
    chosen = Exists(through.objects.filter(**{field: OuterRef("pk")}, tenant_id=tenant.pk))
    return Q(scope=Scope.ALL) | Q(chosen)


def incidents_visible(*, tenant: Tenant | None) -> QuerySet[Incident]:
    """Public incidents, plus (for a company) those shared with the companies they affect when it is one."""
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return Incident.objects.filter(visibility=Visibility.PUBLIC)
    return Incident.objects.filter(
        Q(visibility=Visibility.PUBLIC) | (Q(visibility=Visibility.TENANTS) & affecting(Incident, tenant))
    )


def maintenances_visible(*, tenant: Tenant | None) -> QuerySet[Maintenance]:
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return Maintenance.objects.filter(visibility=Visibility.PUBLIC)
    return Maintenance.objects.filter(
        Q(visibility=Visibility.PUBLIC) | (Q(visibility=Visibility.TENANTS) & affecting(Maintenance, tenant))
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
