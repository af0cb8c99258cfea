"""The one home of the API's lists: the paging query, the page's shape, and a page read with its audit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Schema
from pydantic import Field, create_model

from api import schemas
from api.http import audit_note
from api.selectors import id_page
from api.texts import gettext_lazy


class PageQuery(Schema):
    """`limit` and `cursor` of every list; a list's own filters extend it."""

    limit: int = Field(50, ge=1, le=100)
    cursor: str = schemas.text(max_length=100)


def page_schema(name: str, item: type[Schema]) -> type[Schema]:
    """`{"items": [item…], "next_cursor": "…" | null}` under its own name in the OpenAPI document."""
    return create_model(
        name,
        __base__=Schema,
        items=(list[item], ...),  # type: ignore[valid-type]
        next_cursor=(
            str | None,
            Field(description=gettext_lazy("次のページ（なければ null） / the next page, or null")),
        ),
    )


def page_answer(
    request: HttpRequest,
    *,
    queryset: QuerySet[Any],
    query: PageQuery,
    students: Callable[[list[Any]], Iterable[int]],
    body: Callable[[Any], Any] = lambda row: row,
    descending: bool = False,
) -> dict[str, Any]:
    """One page after the cursor; the call's audit entry names the students the page shows (`students`)."""
    page, next_cursor = id_page(
        queryset=queryset, cursor=query.cursor, limit=query.limit, descending=descending
    )
    audit_note(request, action="list", candidate_ids=sorted(set(students(page))))
    return {"items": [body(row) for row in page], "next_cursor": next_cursor}
