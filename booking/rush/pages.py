"""The rush pages: the student's way in, the cached page of each rank, the health check, the pass."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from booking import errors
from booking.rush import passes
from booking.rush.answers import answer_refusal
from booking.rush.request import student_of
from booking.rush.state import SeminarState, seminar_state
from tenants.selectors import current_schema

_pages: dict[tuple[str, int, str, str], bytes] = {}


def health(request: HttpRequest) -> HttpResponse:
    """The rush path's own health check: the same processes and set-up, no decision."""
    return HttpResponse(b"ok", content_type="text/plain")


def seminar_page(request: HttpRequest, *, seminar_id: int) -> HttpResponse:
    """The student's way in: to the page of their rank (the regular page hands out the pass first)."""
    student = student_of(request, schema=current_schema())
    if student is None:
        return HttpResponse(status=302, headers={"Location": f"/my/seminars/{seminar_id}/"})
    location = passes.page_path(schema=current_schema(), seminar_id=seminar_id, rank=student.rank)
    return HttpResponse(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def rank_page(request: HttpRequest, *, seminar_id: int, rank: str, signature: str) -> HttpResponse:
    """The page every student loads at the opening second: one per tenant, seminar and rank.

    Nothing personal is on it (the answers come from the booking calls; counts come over the websocket), so
    it is rendered once per version in each process and may be cached by the proxy for a few seconds.
    """
    schema = current_schema()
    if not passes.page_signature_valid(schema=schema, seminar_id=seminar_id, rank=rank, signature=signature):
        return answer_refusal(errors.NotVisibleError())
    state = seminar_state(schema=schema, seminar_id=seminar_id)
    if state is None or not state.rank_access(rank).visible:
        return answer_refusal(errors.NotVisibleError())
    key = (state.schema, seminar_id, rank, state.version)
    body = _pages.get(key)
    if body is None:
        body = _render_page(state=state, rank=rank).encode("utf-8")
        if len(_pages) > 2_000:
            _pages.clear()
        _pages[key] = body
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "public, max-age=10"
    # The security middleware does not run for this path: the same headers, set here.
    response["X-Frame-Options"] = "DENY"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "same-origin"
    return response


def _render_page(*, state: SeminarState, rank: str) -> str:
    access = state.rank_access(rank)
    slots = [
        {
            "id": slot.slot_id,
            "starts_at": timezone.localtime(slot.starts_at),
            "ends_at": timezone.localtime(slot.ends_at),
        }
        for slot in sorted(state.slots.values(), key=lambda s: (s.starts_at, s.slot_id))
    ]
    return render_to_string(
        "booking/mypage/rush.html",
        {
            "state": state,
            "slots": slots,
            "opens_at": timezone.localtime(access.opens_at) if access.opens_at else None,
            "opens_at_ms": int(access.opens_at.timestamp() * 1000) if access.opens_at else 0,
            "STATIC_URL": settings.STATIC_URL,
        },
    )


def rush_pass_attach(response: HttpResponse, *, candidate) -> HttpResponse:
    """Give a signed-in My Page student the pass the rush path recognises (called by My Page views)."""
    response.set_cookie(
        passes.STUDENT_COOKIE,
        passes.student_pass_issue(
            schema=current_schema(), candidate_id=candidate.pk, rank=candidate.rank or "Z"
        ),
        max_age=passes.STUDENT_SECONDS,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response
