"""The company's status page for students (/my/status/, no sign-in) and its banners as JSON for the rush page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from incidents.context_processors import STUDENT_CACHE_SECONDS, student_banners


def student_status(request: HttpRequest) -> HttpResponse:
    """What students of this company are told now: each notice with its start and latest update."""
    return render(request, "incidents/students.html", {"notices": student_banners(tenant=request.tenant)})


def student_status_json(request: HttpRequest) -> JsonResponse:
    """The same notices for the rush page, which is rendered once per version and fetches them after load.

    One cache read (the My Page's), no session, no database while the cache holds them; browsers keep the
    answer as long as the cache does, so a reload at the opening second asks nothing.
    """
    response = JsonResponse(
        {"banners": [banner.as_event() for banner in student_banners(tenant=request.tenant)]}
    )
    response["Cache-Control"] = f"private, max-age={STUDENT_CACHE_SECONDS}"
    return response
