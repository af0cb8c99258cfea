"""Banners: a company's open incidents and running maintenances as its recruiters and students see them on every
page (selectors; the pushes of the same banners are incidents/services/notify.py's)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from incidents.models import (
    Component,
    Impact,
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceState,
    State,
    Visibility,
)
from incidents.selectors import affecting
from saas.dates import when
from tenants.models import Tenant


def booking_notice_for(*, tenant: Tenant) -> str | None:
    """A plain notice for students on this company's My Page when booking is affected, else None."""
    banners = banners_for(tenant=tenant, audience=Audience.STUDENTS)
    return banners[0].text if banners else None


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
        Incident.objects.filter(affecting(Incident, tenant))
        .exclude(visibility=Visibility.DRAFT)
        .exclude(state=State.RESOLVED)
        .prefetch_related("components", latest)
        .order_by("-created_at", "-id")
    )
    maintenances = (
        Maintenance.objects.filter(affecting(Maintenance, tenant))
        .exclude(visibility=Visibility.DRAFT)
        .filter(state=MaintenanceState.IN_PROGRESS)
        .prefetch_related("components")
    )
    found = [
        incident_banner(incident=incident, update=next(iter(incident.updates.all()), None), audience=audience)
        for incident in incidents
    ] + [maintenance_banner(maintenance=maintenance, audience=audience) for maintenance in maintenances]
    return [banner for banner in found if banner is not None]
