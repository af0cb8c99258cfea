"""Support staff's incidents from their monitoring tools: create, post an update, publish, resolve (platform API)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Path, Router, Schema, Status
from pydantic import Field

from api import schemas
from api.auth import INCIDENTS_WRITE
from api.errors import ApiProblem
from api.idempotency import IDEMPOTENCY_DOC, idempotent
from api.texts import gettext_lazy
from incidents.models import Component, Incident
from incidents.services.lifecycle import incident_create, incident_publish, incident_update_post
from tenants.selectors import tenant_all

router = Router(tags=["incidents (support staff)"])
Slug = Annotated[str, Field(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")]
PROBLEMS = {**schemas.PROBLEMS, 409: schemas.Problem}


class IncidentIn(Schema):
    title: str = schemas.text(max_length=200)
    title_en: str = schemas.text(max_length=200)
    message_ja: str = schemas.text(max_length=10_000, description=gettext_lazy("最初の報告（日本語）"))
    message_en: str = schemas.text(max_length=10_000)
    impact: Literal["none", "minor", "major", "critical"] = "minor"
    scope: Literal["all", "chosen"] = "all"
    companies: list[Slug] = Field(
        default_factory=list, max_length=1000, description=gettext_lazy("scope=chosen の企業（slug）")
    )
    components: list[Slug] = Field(default_factory=list, max_length=100)
    visibility: Literal["draft", "tenants", "public"] = "draft"


class UpdateIn(Schema):
    state: Literal["investigating", "identified", "monitoring", "resolved"]
    message_ja: str = schemas.text(max_length=10_000)
    message_en: str = schemas.text(max_length=10_000)


class ResolveIn(Schema):
    message_ja: str = schemas.text(max_length=10_000)
    message_en: str = schemas.text(max_length=10_000)


class PublishIn(Schema):
    visibility: Literal["tenants", "public"]


class UpdateOut(Schema):
    id: int
    state: str
    message_ja: str
    message_en: str
    created_at: schemas.Timestamp


class IncidentOut(Schema):
    id: int
    title: str
    title_en: str
    impact: str
    state: str
    scope: str
    visibility: str
    companies: list[str] = Field(description=gettext_lazy("影響を受ける企業（scope=chosen のとき）"))
    components: list[str]
    created_at: schemas.Timestamp
    published_at: schemas.Timestamp | None
    resolved_at: schemas.Timestamp | None
    updates: list[UpdateOut]


def _actor(request: HttpRequest) -> Any:
    token = request.auth
    return token.created_by or f"API {token.prefix}…"


def _incident_body(incident: Incident) -> dict[str, Any]:
    return {
        **{
            field: getattr(incident, field)
            for field in IncidentOut.model_fields
            if field not in ("companies", "components", "updates")
        },
        "companies": [tenant.slug for tenant in incident.tenants.all()],
        "components": [component.slug for component in incident.components.all()],
        "updates": list(incident.updates.order_by("id")),
    }


def _incident_get(incident_id: int) -> Incident:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise ApiProblem("not_found", gettext("障害 #%(id)s は見つかりません。") % {"id": incident_id})
    return incident


@router.post(
    "/incidents",
    response={201: IncidentOut, **PROBLEMS},
    auth=INCIDENTS_WRITE,
    summary=gettext_lazy("障害を起票 / Create an incident"),
    description=IDEMPOTENCY_DOC,
)
def incidents_create(request: HttpRequest, payload: IncidentIn) -> Any:
    def work() -> tuple[int, dict[str, Any]]:
        companies = list(tenant_all().filter(slug__in=payload.companies))
        if len(companies) != len(set(payload.companies)):
            raise ApiProblem("validation", gettext("存在しない企業が含まれています。"))
        components = list(Component.objects.filter(slug__in=payload.components))
        if len(components) != len(set(payload.components)):
            raise ApiProblem("validation", gettext("存在しないコンポーネントが含まれています。"))
        incident = incident_create(
            actor=_actor(request),
            title=payload.title,
            title_en=payload.title_en,
            message_ja=payload.message_ja,
            message_en=payload.message_en,
            impact=payload.impact,
            scope=payload.scope,
            tenants=companies,
            components=components,
            visibility=payload.visibility,
        )
        return 201, schemas.dump(IncidentOut, _incident_body(incident))

    return Status(*idempotent(request, work))


@router.get(
    "/incidents/{incident_id}",
    response={200: IncidentOut, **PROBLEMS},
    auth=INCIDENTS_WRITE,
    summary=gettext_lazy("障害 / An incident"),
)
def incidents_get(request: HttpRequest, incident_id: int = Path(..., ge=1, le=schemas.MAX_ID)) -> Any:
    return _incident_body(_incident_get(incident_id))


@router.post(
    "/incidents/{incident_id}/updates",
    response={201: IncidentOut, **PROBLEMS},
    auth=INCIDENTS_WRITE,
    summary=gettext_lazy("経過を投稿 / Post an update"),
)
def incidents_update(
    request: HttpRequest, payload: UpdateIn, incident_id: int = Path(..., ge=1, le=schemas.MAX_ID)
) -> Any:
    incident = _incident_get(incident_id)
    incident_update_post(
        actor=_actor(request),
        incident=incident,
        state=payload.state,
        message_ja=payload.message_ja,
        message_en=payload.message_en,
    )
    return Status(201, _incident_body(_incident_get(incident_id)))


@router.post(
    "/incidents/{incident_id}/resolve",
    response={200: IncidentOut, **PROBLEMS},
    auth=INCIDENTS_WRITE,
    summary=gettext_lazy("解決 / Resolve"),
)
def incidents_resolve(
    request: HttpRequest, payload: ResolveIn, incident_id: int = Path(..., ge=1, le=schemas.MAX_ID)
) -> Any:
    incident = _incident_get(incident_id)
    incident_update_post(
        actor=_actor(request),
        incident=incident,
        state="resolved",
        message_ja=payload.message_ja,
        message_en=payload.message_en,
    )
    return _incident_body(_incident_get(incident_id))


@router.post(
    "/incidents/{incident_id}/publish",
    response={200: IncidentOut, **PROBLEMS},
    auth=INCIDENTS_WRITE,
    summary=gettext_lazy("公開 / Publish"),
)
def incidents_publish(
    request: HttpRequest, payload: PublishIn, incident_id: int = Path(..., ge=1, le=schemas.MAX_ID)
) -> Any:
    incident = incident_publish(
        actor=_actor(request), incident=_incident_get(incident_id), visibility=payload.visibility
    )
    return _incident_body(incident)
