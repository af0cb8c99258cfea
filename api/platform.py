"""The platform's public API on BASE_DOMAIN and status.BASE_DOMAIN: the status in Statuspage's shapes, naming no company."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from api import schemas
from api.endpoints import incidents
from api.http import api_new
from api.texts import gettext_lazy
from incidents import selectors
from incidents.models import ComponentStatus, Incident, Maintenance

# Our component states in Statuspage's words, and the page indicator the worst of them gives.
STATUSPAGE_STATUS = {
    ComponentStatus.OPERATIONAL: "operational",
    ComponentStatus.DEGRADED: "degraded_performance",
    ComponentStatus.PARTIAL: "partial_outage",
    ComponentStatus.MAJOR: "major_outage",
    ComponentStatus.MAINTENANCE: "under_maintenance",
}
STATUS_PAGE_NAME = "採用管理 ステータス"  # i18n: data — the page's name in the Statuspage-compatible answer
# i18n: data — the Statuspage-compatible answer carries both languages, whatever the client's
INDICATOR = {
    ComponentStatus.OPERATIONAL: (
        "none",
        "すべてのシステムは正常に稼働しています",
        "All Systems Operational",
    ),
    ComponentStatus.MAINTENANCE: ("maintenance", "メンテナンス中です", "Service Under Maintenance"),
    ComponentStatus.DEGRADED: ("minor", "一部のシステムで性能が低下しています", "Minor Service Outage"),
    ComponentStatus.PARTIAL: ("major", "一部のシステムに障害が発生しています", "Partial System Outage"),
    ComponentStatus.MAJOR: ("critical", "重大な障害が発生しています", "Major Service Outage"),
}


class Page(Schema):
    name: str
    url: str
    time_zone: str
    updated_at: schemas.Timestamp


class Status(Schema):
    indicator: str
    description: str
    description_en: str


class StatusDocument(Schema):
    page: Page
    status: Status


class Component(Schema):
    id: str
    name: str
    name_en: str
    status: str
    updated_at: schemas.Timestamp


class IncidentUpdate(Schema):
    id: int
    status: str
    body: str
    body_en: str
    created_at: schemas.Timestamp


class IncidentBody(Schema):
    id: int
    name: str
    name_en: str
    status: str
    impact: str
    shortlink: str
    created_at: schemas.Timestamp
    resolved_at: schemas.Timestamp | None
    components: list[str]
    incident_updates: list[IncidentUpdate]


class MaintenanceBody(Schema):
    id: int
    name: str
    status: str
    scheduled_for: schemas.Timestamp
    scheduled_until: schemas.Timestamp
    body: str
    body_en: str
    components: list[str]


class Summary(StatusDocument):
    components: list[Component]
    incidents: list[IncidentBody]
    scheduled_maintenances: list[MaintenanceBody]


router = Router(tags=["status"])


def _page(updated_at: datetime) -> dict[str, Any]:
    return {
        "name": STATUS_PAGE_NAME,
        "url": f"https://{settings.STATUS_DOMAIN}/",
        "time_zone": settings.TIME_ZONE,
        "updated_at": updated_at,
    }


def _status(components: list[selectors.ComponentView]) -> dict[str, str]:
    order = [str(status) for status in selectors.STATUS_ORDER]
    worst = max((view.status for view in components), key=order.index, default=order[0])
    indicator, description, description_en = INDICATOR[ComponentStatus(worst)]
    return {"indicator": indicator, "description": description, "description_en": description_en}


def _incident(incident: Incident) -> dict[str, Any]:
    # Only what the public status page shows: never the companies an incident affects.
    return {
        "id": incident.pk,
        "name": incident.title,
        "name_en": incident.title_en,
        "status": incident.state,
        "impact": incident.impact,
        "shortlink": f"https://{settings.STATUS_DOMAIN}/incidents/{incident.pk}/",
        "created_at": incident.created_at,
        "resolved_at": incident.resolved_at,
        "components": [component.slug for component in incident.components.all()],
        "incident_updates": [
            {
                "id": update.pk,
                "status": update.state,
                "body": update.message_ja,
                "body_en": update.message_en,
                "created_at": update.created_at,
            }
            for update in incident.updates.all()
        ],
    }


def _maintenance(maintenance: Maintenance) -> dict[str, Any]:
    return {
        "id": maintenance.pk,
        "name": maintenance.title,
        "status": maintenance.state,
        "scheduled_for": maintenance.starts_at,
        "scheduled_until": maintenance.ends_at,
        "body": maintenance.message_ja,
        "body_en": maintenance.message_en,
        "components": [component.slug for component in maintenance.components.all()],
    }


@router.get("/status.json", response=StatusDocument, summary=gettext_lazy("全体の状態 / Overall status"))
def status_json(request: HttpRequest) -> Any:
    components = selectors.status_overview(tenant=None, days=1)
    updated = max((view.component.updated_at for view in components), default=timezone.now())
    return {"page": _page(updated), "status": _status(components)}


@router.get(
    "/summary.json",
    response=Summary,
    summary=gettext_lazy("コンポーネント・障害・メンテナンス / Components, incidents, maintenance"),
)
def summary_json(request: HttpRequest) -> Any:
    components = selectors.status_overview(tenant=None, days=1)
    updated = max((view.component.updated_at for view in components), default=timezone.now())
    return {
        "page": _page(updated),
        "status": _status(components),
        "components": [
            {
                "id": view.component.slug,
                "name": view.component.name,
                "name_en": view.component.name_en,
                "status": STATUSPAGE_STATUS[ComponentStatus(view.status)],
                "updated_at": view.component.updated_at,
            }
            for view in components
        ],
        "incidents": [_incident(incident) for incident in selectors.incidents_current(tenant=None)],
        "scheduled_maintenances": [
            _maintenance(maintenance)
            for maintenance in selectors.maintenances_upcoming(tenant=None).prefetch_related("components")
        ],
    }


platform_api = api_new(
    title=gettext_lazy("採用管理 ステータス API / Status API"),
    version="1",
    description=(
        gettext_lazy(
            "公開ステータス（企業名は含みません）と、サポート担当のトークンによる障害の起票・更新・解決。"
            " / The public status (it names no company), and incidents for support staff's tokens."
        )
    ),
    urls_namespace="platformapi",
    openapi_url="/openapi.json",
    docs_url="/docs",
    cache_control="public, max-age=30",
    audit_calls=False,
)
platform_api.add_router("", router)
platform_api.add_router("", incidents.router)
