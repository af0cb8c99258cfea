"""Step-mail sequences of a season (read)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from api import schemas
from api.auth import CANDIDATES_READ
from api.docs import examples
from api.endpoints.candidates import _season_id
from notifications.selectors import sequence_list, sequence_steps

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


class SeasonQuery(Schema):
    season: int | None = Field(None, ge=1900, le=2200, description="年度（卒業年）。省略時は既定の年度")


@router.get(
    "/mail/sequences",
    response={200: list[Sequence], **schemas.PROBLEMS},
    auth=CANDIDATES_READ,
    summary="ステップメールの一覧 / Step-mail sequences",
    openapi_extra=examples("mail_sequences"),
)
def mail_sequences(request: HttpRequest, query: Query[SeasonQuery]) -> Any:
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
