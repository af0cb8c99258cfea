"""Candidates, their entries and the rank table."""

from __future__ import annotations

from typing import Any, BinaryIO, Literal, cast

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import File, Form, Path, Query, Router, Status, UploadedFile
from pydantic import Field

from api import schemas
from api.auth import CANDIDATES_READ, CANDIDATES_WRITE, RANKS_WRITE
from api.docs import examples
from api.errors import ApiProblem
from api.http import audit_note
from api.idempotency import IDEMPOTENCY_DOC, idempotent
from api.imports import candidate_import_one
from api.paging import PageQuery, page_answer, page_schema
from api.selectors import candidate_visible_get, entry_list, rank_table
from api.texts import gettext_lazy, texts_join
from candidates.models import Candidate, Tag
from candidates.selectors import CandidateFilters, candidate_list
from candidates.services.ranks import candidate_rank_override, rank_table_import_csv
from candidates.services.workspace import candidate_status_set, candidate_tag_add, candidate_tag_remove
from seasons.selectors import season_default, season_list

router = Router(tags=["candidates"])
PROBLEMS = schemas.PROBLEMS


class CandidateQuery(PageQuery):
    q: str = schemas.text(
        max_length=100, description=gettext_lazy("氏名・カナ・メール・大学名で検索 / search")
    )
    rank: str = schemas.text(max_length=1)
    graduation_year: int | None = Field(None, ge=1900, le=2200)
    board: str = schemas.text(max_length=40)
    status: str = schemas.text(max_length=40)
    tag: str = schemas.text(max_length=40)
    season: int | None = schemas.season_field()
    sort: Literal["new", "old"] = "new"


def _season_id(year: int | None) -> int:
    if year is None:
        return season_default().pk
    for season in season_list(include_archived=True):
        if season.graduation_year == year:
            return season.pk
    raise ApiProblem("not_found", gettext("%(year)s年卒の年度はありません。") % {"year": year})


def candidate_body(candidate: Candidate, *, detail: bool = False) -> dict[str, Any]:
    body = {field: getattr(candidate, field) for field in schemas.Candidate.model_fields}
    if detail:
        body["tags"] = [tag.name for tag in candidate.tags.all()]
        body["entries"] = list(candidate.entries.order_by("id"))
    return body


CandidatePage = page_schema("CandidatePage", schemas.Candidate)


@router.get(
    "/candidates",
    response={200: CandidatePage, **PROBLEMS},
    auth=CANDIDATES_READ,
    summary=gettext_lazy("候補者の一覧 / List candidates"),
    openapi_extra=examples("candidates_list"),
)
def candidates_list(request: HttpRequest, query: Query[CandidateQuery]) -> Any:
    filters = CandidateFilters(
        q=query.q,
        rank=query.rank,
        graduation_year=query.graduation_year,
        board=query.board,
        status=query.status,
        tag=query.tag,
        sort=query.sort,
        season_id=_season_id(query.season),
    )
    return page_answer(
        request,
        queryset=candidate_list(filters=filters),
        query=query,
        students=lambda page: [candidate.pk for candidate in page],
        body=candidate_body,
        descending=query.sort == "new",
    )


@router.get(
    "/candidates/{candidate_id}",
    response={200: schemas.CandidateDetail, **PROBLEMS},
    auth=CANDIDATES_READ,
    summary=gettext_lazy("候補者の詳細 / Get a candidate"),
    openapi_extra=examples("candidates_get"),
)
def candidates_get(request: HttpRequest, candidate_id: int = Path(..., ge=1, le=schemas.MAX_ID)) -> Any:
    candidate = candidate_visible_get(candidate_id=candidate_id)
    audit_note(request, action="detail", candidate_ids=[candidate.pk])
    return candidate_body(candidate, detail=True)


@router.post(
    "/candidates",
    response={201: schemas.CandidateCreated, 200: schemas.CandidateCreated, 409: schemas.Problem, **PROBLEMS},
    auth=CANDIDATES_WRITE,
    summary=gettext_lazy("候補者の登録（取り込みと同じ正規化・名寄せ） / Create a candidate (import rules)"),
    description=IDEMPOTENCY_DOC,
    openapi_extra=examples("candidates_create"),
)
def candidates_create(request: HttpRequest, payload: schemas.CandidateIn) -> Any:
    def work() -> tuple[int, dict[str, Any]]:
        imported = candidate_import_one(values=payload.model_dump())
        candidate = candidate_visible_get(candidate_id=imported.candidate_id)
        body = schemas.dump(
            schemas.CandidateCreated,
            {
                "candidate": candidate_body(candidate, detail=True),
                "outcome": imported.outcome,
                "possible_duplicate": imported.possible_duplicate,
            },
        )
        return (201 if imported.outcome == "created" else 200), body

    status, body = idempotent(request, work)
    audit_note(request, action="api_write", candidate_ids=[body["candidate"]["id"]])
    return Status(status, body)


@router.patch(
    "/candidates/{candidate_id}",
    response={200: schemas.CandidateDetail, **PROBLEMS},
    auth=CANDIDATES_WRITE,
    summary=gettext_lazy("選考ステータス・ランク・タグの更新 / Update status, rank, tags"),
    openapi_extra=examples("candidates_update"),
)
def candidates_update(
    request: HttpRequest,
    payload: schemas.CandidatePatch,
    candidate_id: int = Path(..., ge=1, le=schemas.MAX_ID),
) -> Any:
    candidate = candidate_visible_get(candidate_id=candidate_id)
    user = request.auth.created_by
    if payload.status is not None:
        candidate_status_set(candidate=candidate, status=payload.status, user=user)
    if payload.rank is not None:
        candidate_rank_override(candidate=candidate, rank=payload.rank or None, user=user)
    for name in payload.add_tags:
        candidate_tag_add(candidate=candidate, name=name, user=user)
    for name in payload.remove_tags:
        tag_id = Tag.objects.filter(name=name).values_list("pk", flat=True).first()
        if tag_id is not None:
            candidate_tag_remove(candidate=candidate, tag_id=tag_id, user=user)
    audit_note(request, action="api_write", candidate_ids=[candidate.pk])
    return candidate_body(candidate_visible_get(candidate_id=candidate.pk), detail=True)


class EntryQuery(PageQuery):
    candidate_id: int | None = Field(None, ge=1, le=schemas.MAX_ID)
    board: str = schemas.text(max_length=40)


EntryPage = page_schema("EntryPage", schemas.Entry)


@router.get(
    "/entries",
    response={200: EntryPage, **PROBLEMS},
    auth=CANDIDATES_READ,
    summary=gettext_lazy("エントリーの一覧 / List entries"),
    openapi_extra=examples("entries_list"),
)
def entries_list(request: HttpRequest, query: Query[EntryQuery]) -> Any:
    return page_answer(
        request,
        queryset=entry_list(candidate_id=query.candidate_id, board=query.board),
        query=query,
        students=lambda page: [entry.candidate_id for entry in page],
    )


@router.get(
    "/ranks",
    response={200: schemas.Ranks, **PROBLEMS},
    auth=CANDIDATES_READ,
    summary=gettext_lazy("大学ランク表 / University rank table"),
    openapi_extra=examples("ranks_get"),
)
def ranks_get(request: HttpRequest) -> Any:
    default_rank, rules = rank_table()
    return {"default_rank": default_rank, "rules": rules}


class RanksUploaded(schemas.Ranks):
    imported: int = Field(description=gettext_lazy("読み込んだ大学の数 / universities read"))


@router.post(
    "/ranks/upload",
    response={200: RanksUploaded, 400: schemas.Problem, 409: schemas.Problem, **PROBLEMS},
    auth=RANKS_WRITE,
    summary=gettext_lazy("大学ランク表の読み込み（CSV） / Upload the university rank table (CSV)"),
    description=texts_join(
        gettext_lazy(
            "ランク表画面の「CSVを読み込む」と同じサービス・同じ検査です。1行目に「大学名」と「ランク」、"
            "UTF-8（BOM可）または Shift_JIS、2 MB まで。全行を読み込むか、1行も読み込みません。読み込み後、全候補者の"
            "ランクを付け直します。 / The rank table page's upload: the same service and checks. A header row with 大学名 "
            "and ランク, UTF-8 (with or without BOM) or Shift_JIS, up to 2 MB; all rows or none; every candidate is "
            "re-ranked afterwards."
        ),
        IDEMPOTENCY_DOC,
    ),
    openapi_extra=examples("ranks_upload"),
)
def ranks_upload(
    request: HttpRequest,
    file: File[UploadedFile],
    replace: Form[bool] = False,
) -> Any:
    def work() -> tuple[int, dict[str, Any]]:
        # An upload reads like a binary file, as the rank page's form hands it over.
        imported = rank_table_import_csv(fileobj=cast(BinaryIO, file), replace=replace)
        default_rank, rules = rank_table()
        return 200, schemas.dump(
            RanksUploaded, {"default_rank": default_rank, "rules": rules, "imported": imported}
        )

    status, body = idempotent(request, work)
    return Status(status, body)
