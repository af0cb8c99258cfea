"""The rush pages: the page of the student's rank (to a valid pass only), the health check, the pass."""

from __future__ import annotations

import hmac

from cachetools import LRUCache
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from booking import errors
from booking.rules import offer_holder
from booking.rush import passes
from booking.rush.answers import answer_refusal
from booking.rush.passes import StudentPass
from booking.rush.request import student_of
from booking.rush.state import SeminarState, seminar_state
from booking.services.rush_passes import rush_pass_revoked
from saas.i18n import catalogue_version
from tenants.selectors import current_schema

# How long the proxy may answer a rank's page from its copy (the live seat counts come by websocket).
PROXY_SECONDS = 2
# Rendered pages, bounded: least recently used ones leave first (a page is one render away).
_pages: LRUCache[tuple[str, int, str, str, str], bytes] = LRUCache(maxsize=2_000)


def health(request: HttpRequest) -> HttpResponse:
    """The rush path's own health check: the same processes and set-up, no decision."""
    return HttpResponse(b"ok", content_type="text/plain")


def seminar_page(request: HttpRequest, *, seminar_id: int) -> HttpResponse:
    """The page every student loads at the opening second, on a thread (Django, or the workers' thread path).

    The workers' event loop answers the same page with the same decision (booking/rush/loop.py::page_on_loop).
    """
    schema = current_schema()
    student = student_of(request, schema=schema)
    if student is None:
        return page_answer(seminar_id=seminar_id, student=None, revoked=False, state=None)
    revoked = rush_pass_revoked(candidate_id=student.candidate_id, issued_at=student.issued_at)
    state = None if revoked else seminar_state(schema=schema, seminar_id=seminar_id)
    return page_answer(
        seminar_id=seminar_id,
        student=student,
        revoked=revoked,
        state=state,
        view=request.COOKIES.get(passes.VIEW_COOKIE),
    )


def page_answer(
    *,
    seminar_id: int,
    student: StudentPass | None,
    revoked: bool,
    state: SeminarState | None,
    view: str | None = None,
) -> HttpResponse:
    """The rush page's one decision, whichever way the request came: given a pass (or None), whether it was
    revoked, the seminar's state, and the view token the browser sent beside the pass.

    The rank stays on the server: the address names only the seminar, and the page of the pass's rank is
    rendered once per company, seminar, rank and version in each process. The page carries no meeting link
    (the My Page and the confirmation do). The proxy may keep it for PROXY_SECONDS under the view token
    (X-Accel-Expires, deploy/nginx.conf.template) only when that token is the one of the pass's own rank, so
    the opening second's page loads are answered by the proxy; browsers never keep it (no-store). Without a
    valid, unrevoked pass: to the regular page, which hands one out. A rank the seminar is not open to hears
    "not visible", as for a missing seminar.
    """
    if student is None or revoked:
        return HttpResponse(
            status=302, headers={"Location": f"/my/seminars/{seminar_id}/", "Cache-Control": "no-store"}
        )
    if state is None or not state.open_to(student):
        return _no_store(answer_refusal(errors.NotVisibleError()))
    response = HttpResponse(
        page_body(
            state=state, rank=student.rank, language=translation.get_language() or settings.LANGUAGE_CODE
        ),
        content_type="text/html; charset=utf-8",
    )
    # The security middleware does not run for this path: the same headers, set here.
    response["X-Frame-Options"] = "DENY"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "same-origin"
    if view and hmac.compare_digest(
        view, passes.view_token(schema=state.schema, rank=student.rank, issued_at=student.issued_at)
    ):
        response["X-Accel-Expires"] = str(PROXY_SECONDS)
    return _no_store(response)


def pages_warm_up() -> None:
    """Load now what the first page of the rush would load: the URL tree (the page names the JavaScript
    catalogue's address), the page's template, every language's catalogue and the catalogue version.

    Run once when a rush process starts: measured, the first page render of a fresh process imported the
    whole URL tree (the API's schemas included) at the opening second, holding the interpreter for about
    a second while the event loop's students waited.
    """
    reverse("javascript_catalog")  # loads the resolver: every URL module is imported
    get_template("booking/mypage/rush.html")
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("予約")
    catalogue_version()


def page_key(*, state: SeminarState, rank: str, language: str) -> tuple[str, int, str, str, str]:
    """What a rank's page depends on: the seminar's version, the language and the rank's opening time (not
    the rank itself: ranks that open together share one page, 26 ranks rarely need more than two)."""
    opens_at = state.rank_access(rank).opens_at
    return (state.schema, state.seminar_id, opens_at.isoformat() if opens_at else "", state.version, language)


def page_body_cached(*, state: SeminarState, rank: str, language: str) -> bytes | None:
    """The rendered page of this rank, version and language, if this process has it (no rendering)."""
    return _pages.get(page_key(state=state, rank=rank, language=language))


def page_body(*, state: SeminarState, rank: str, language: str) -> bytes:
    """The page of this rank and version in this language, rendered once per process (on any thread: the
    language is given, not taken from the caller's context)."""
    key = page_key(state=state, rank=rank, language=language)
    body = _pages.get(key)
    if body is None:
        with translation.override(language):
            body = _pages[key] = _render_page(state=state, rank=rank).encode("utf-8")
    return body


def pages_warm(*, state: SeminarState, language: str) -> int:
    """Render now the pages of every rank that sees the seminar (one per opening time); how many were new."""
    rendered = 0
    for rank in sorted(r for r, access in state.access.items() if access.visible):
        if page_body_cached(state=state, rank=rank, language=language) is None:
            page_body(state=state, rank=rank, language=language)
            rendered += 1
    return rendered


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    return response


def _render_page(*, state: SeminarState, rank: str) -> str:
    access = state.rank_access(rank)
    language = translation.get_language() or settings.LANGUAGE_CODE
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
            # The scripts' words (static/booking/rushbook.js, seats.js) come from the djangojs catalogue.
            "javascript_catalog": f"{reverse('javascript_catalog')}?l={language}&v={catalogue_version()}",
        },
    )


def rush_pass_attach(response: HttpResponse, *, candidate) -> HttpResponse:
    """Give a signed-in My Page student the pass the rush path recognises, and its view token (called by
    My Page views)."""
    cookies = passes.student_cookies_issue(
        schema=current_schema(),
        candidate_id=candidate.pk,
        rank=candidate.rank or "Z",
        season_id=candidate.season_id,
        offer_holder=offer_holder(candidate.status),
    )
    for name, value in cookies.items():
        response.set_cookie(
            name,
            value,
            max_age=passes.STUDENT_SECONDS,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response
