"""Step-mail sequences of a season (read), and segment mail: preview, send (through the segment service), read."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from api import schemas
from api.auth import CANDIDATES_READ, MAIL_SEND
from api.docs import examples
from api.endpoints.candidates import _season_id
from api.errors import ApiProblem
from api.idempotency import IDEMPOTENCY_KEY_REQUIRED, idempotent
from api.paging import PageQuery, page_answer, page_schema
from api.texts import gettext_lazy
from notifications.models import SegmentMail
from notifications.selectors import (
    candidate_filter,
    segment_list,
    sequence_list,
    sequence_steps,
    template_list,
)
from notifications.services.segments import segment_create, segment_filters_clean
from seasons.selectors import season_get

router = Router(tags=["mail"])


class Step(Schema):
    position: int
    delay_days: int
    delay_minutes: int
    template: str
    ranks: list[str]
    statuses: list[str]
    require_not_booked: bool


class Sequence(Schema):
    id: int
    name: str
    trigger: str
    trigger_status: str
    is_active: bool
    stop_on_booked: bool
    created_at: schemas.Timestamp
    steps: list[Step]


@router.get(
    "/mail/sequences",
    response={200: list[Sequence], **schemas.PROBLEMS},
    auth=CANDIDATES_READ,
    summary=gettext_lazy("ステップメールの一覧 / Step-mail sequences"),
    openapi_extra=examples("mail_sequences"),
)
def mail_sequences(request: HttpRequest, query: Query[schemas.SeasonQuery]) -> Any:
    return [
        {
            **{field: getattr(sequence, field) for field in Sequence.model_fields if field != "steps"},
            "steps": [
                {
                    **{field: getattr(step, field) for field in Step.model_fields if field != "template"},
                    "template": step.template.name,
                }
                for step in sequence_steps(sequence=sequence)
            ],
        }
        for sequence in sequence_list(season_id=_season_id(query.season))
    ]


class SegmentFilters(Schema):
    """Who receives it: every condition given must hold (students of the season, with an address, subscribed)."""

    ranks: list[schemas.Tag] = Field(default_factory=list, max_length=26)
    graduation_years: list[int] = Field(default_factory=list, max_length=10)
    statuses: list[schemas.Tag] = Field(default_factory=list, max_length=40)
    boards: list[schemas.Tag] = Field(default_factory=list, max_length=40)
    tags: list[schemas.Tag] = Field(default_factory=list, max_length=40)
    require_not_booked: bool = Field(
        False,
        description=gettext_lazy("説明会を予約していない学生だけ / only students who booked no seminar"),
    )
    candidate_ids: list[Annotated[int, Field(ge=1, le=schemas.MAX_ID)]] = Field(
        default_factory=list, max_length=1000
    )
    season: int | None = schemas.season_field()


class SegmentIn(SegmentFilters):
    name: str = schemas.text(max_length=100, description=gettext_lazy("配信名（受信者には見えません）"))
    subject: str = schemas.text(
        max_length=200, description=gettext_lazy("件名（{{ 姓 }} などの変数が使えます）")
    )
    body: str = schemas.text(max_length=20000)
    template_id: int | None = Field(
        None, ge=1, le=schemas.MAX_ID, description=gettext_lazy("件名・本文が空ならこのテンプレート")
    )
    send_at: schemas.RequestTime | None = Field(
        None,
        description=gettext_lazy(
            "送信日時（省略時は今すぐ、時差の表記がなければ日本時間） / when to send, now when omitted, Japan time "
            "when no offset is given"
        ),
    )


class SegmentPreview(Schema):
    count: int = Field(description=gettext_lazy("今送ると届く人数 / students it would reach now"))
    subject: str
    body: str


class Segment(Schema):
    id: int
    name: str
    subject: str
    send_at: schemas.Timestamp
    enqueued_at: schemas.Timestamp | None = Field(
        description=gettext_lazy("送信キューに入った日時（予約中は null）")
    )
    recipients: int = Field(description=gettext_lazy("キューに入った通数 / mails queued"))
    created_at: schemas.Timestamp


class SegmentSent(Segment):
    preview_count: int = Field(
        description=gettext_lazy("受付時点の対象人数 / the preview count when accepted")
    )


def _filters(payload: SegmentFilters) -> dict[str, Any]:
    # The service's own cleaning: the preview counts with exactly what the send will use.
    return segment_filters_clean(payload.model_dump(exclude={"season"}))


def _content(payload: SegmentIn) -> tuple[str, str]:
    subject, body = payload.subject, payload.body
    if payload.template_id is not None and not (subject or body):
        template = template_list().filter(pk=payload.template_id).first()
        if template is None:
            raise ApiProblem(
                "not_found", _("テンプレート #%(id)s は見つかりません。") % {"id": payload.template_id}
            )
        subject, body = template.subject, template.body
    return subject, body


def _preview_count(payload: SegmentFilters, *, season_id: int) -> int:
    return candidate_filter(**_filters(payload), season_id=season_id).count()


def segment_body(segment: SegmentMail) -> dict[str, Any]:
    return {field: getattr(segment, field) for field in Segment.model_fields}


@router.post(
    "/mail/segments/preview",
    response={200: SegmentPreview, **schemas.PROBLEMS},
    auth=MAIL_SEND,
    summary=gettext_lazy("セグメント配信の対象人数 / Preview a segment mail's count"),
    description=gettext_lazy("何も送りません。 / Sends nothing."),
    openapi_extra=examples("mail_segments_preview"),
)
def mail_segments_preview(request: HttpRequest, payload: SegmentIn) -> Any:
    subject, body = _content(payload)
    return {
        "count": _preview_count(payload, season_id=_season_id(payload.season)),
        "subject": subject,
        "body": body,
    }


@router.post(
    "/mail/segments",
    response={201: SegmentSent, 400: schemas.Problem, **schemas.PROBLEMS},
    auth=MAIL_SEND,
    summary=gettext_lazy("セグメント配信の送信 / Send a segment mail"),
    description=gettext_lazy(
        "配信画面と同じサービスで送ります（配信しない時間帯・送信上限・配信停止を守ります）。"
        "Idempotency-Key が必須です：同じキーの再送は最初の結果を返し、二度送りません。 / Sent by the segment page's "
        "service (quiet hours, rate, unsubscribes). Idempotency-Key is required: a retry with the same key returns "
        "the first result and never sends twice."
    ),
    openapi_extra={**examples("mail_segments_send"), **IDEMPOTENCY_KEY_REQUIRED},
)
def mail_segments_send(request: HttpRequest, payload: SegmentIn) -> Any:
    def work() -> tuple[int, dict[str, Any]]:
        season_id = _season_id(payload.season)
        subject, body = _content(payload)
        count = _preview_count(payload, season_id=season_id)
        segment = segment_create(
            name=payload.name,
            subject=subject,
            body=body,
            filters=_filters(payload),
            send_at=payload.send_at,
            season=season_get(season_id=season_id),
        )
        return 201, schemas.dump(SegmentSent, {**segment_body(segment), "preview_count": count})

    status, body = idempotent(request, work, required=True)
    return Status(status, body)


class SegmentQuery(PageQuery, schemas.SeasonQuery):
    pass


SegmentPage = page_schema("SegmentPage", Segment)


@router.get(
    "/mail/segments",
    response={200: SegmentPage, **schemas.PROBLEMS},
    auth=CANDIDATES_READ,
    summary=gettext_lazy("セグメント配信の一覧 / List segment mails"),
    openapi_extra=examples("mail_segments_list"),
)
def mail_segments_list(request: HttpRequest, query: Query[SegmentQuery]) -> Any:
    return page_answer(
        request,
        queryset=segment_list(season_id=_season_id(query.season)).order_by("-id"),
        query=query,
        students=lambda page: [],
        body=segment_body,
        descending=True,
    )


@router.get(
    "/mail/segments/{segment_id}",
    response={200: Segment, **schemas.PROBLEMS},
    auth=CANDIDATES_READ,
    summary=gettext_lazy("セグメント配信の詳細 / Get a segment mail"),
    openapi_extra=examples("mail_segments_get"),
)
def mail_segments_get(request: HttpRequest, segment_id: int = Path(..., ge=1, le=schemas.MAX_ID)) -> Any:
    segment = segment_list().filter(pk=segment_id).first()
    if segment is None:
        raise ApiProblem("not_found", _("セグメント配信 #%(id)s は見つかりません。") % {"id": segment_id})
    return segment_body(segment)
