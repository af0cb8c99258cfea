"""Every page of a company's host, found from its URLconf: the recruiters' pages and the students' My Page.

Tests that must hold on every page (the incident banner, the workspace menu) take their list from here, so a
new page cannot be left out silently: a route is either a page (with the objects its URL needs) or named in
NOT_PAGES with the reason it is not one; anything else fails `routes_unclassified()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

TENANT_URLCONF = "saas.urls_tenants"
MYPAGE_PREFIX = "my/"

# Routes that are not pages a person reads: actions (POST), files, feeds, redirects, sign-in and e-mail links.
NOT_PAGES = {
    "": "redirects to home",
    "healthz": "health check",
    "login": "sign-in (no workspace before it)",
    "logout": "action",
    "password_set": "e-mail link for a new user (not signed in yet)",
    "set_language": "action",
    "javascript_catalog": "script (the djangojs catalogue)",
    "seasons:switch": "action",
    "candidates:export": "CSV file",
    "candidates:rank": "action",
    "candidates:status": "action",
    "candidates:note": "action",
    "candidates:tag": "action",
    "candidates:delete": "action",
    "candidates:duplicate_merge": "action",
    "candidates:duplicate_dismiss": "action",
    "candidates:merge_undo": "action",
    "candidates:import_start": "action",
    "candidates:import_progress": "JSON",
    "candidates:privacy_export_json": "JSON file",
    "candidates:privacy_export_html": "the student's data as a printable document (no workspace chrome)",
    "candidates:privacy_close": "action",
    "candidates:privacy_correct": "action",
    "candidates:privacy_erase": "action",
    "booking:seminar_rush_json": "JSON",
    "booking:attendance": "action",
    "booking:booking_cancel": "action",
    "booking:student_mypage_link": "action",
    "booking:mypage_login": "sign-in link",
    "booking:mypage_logout": "action",
    "booking:mypage_seats": "JSON",
    "booking:mypage_book": "action",
    "booking:mypage_cancel": "action",
    "booking:mypage_ics": "calendar file",
    "booking:mypage_qr": "image",
    "booking:mypage_waitlist_join": "action",
    "booking:mypage_waitlist_accept": "action",
    "booking:mypage_waitlist_leave": "action",
    "booking:mypage_interview_book": "action",
    "booking:mypage_interview_cancel": "action",
    "booking:mypage_interview_ics": "calendar file",
    "mail_unsubscribe": "e-mail link for a student (not signed in)",
    "incidents_tenant_feed": "Atom feed",
    "incidents_student_status_json": "JSON (the rush page's notices)",
    "incidents_tenant_feed_revoke": "action (POST)",
    "incidents_tenant_ack": "action",
    "incidents_ack_by_token": "e-mail link (acknowledges without signing in)",
    "incidents_tenant_subscriptions": "action",
    "incidents_tenant_leak_report": "action",
    "incidents_tenant_webhook_delete": "action",
    "incidents_tenant_data_export": "CSV file",
    "selection:entry_sheet_print": "a printable document (no workspace chrome)",
    "selection:entry_sheet_file": "an uploaded file",
    "selection:mypage_sheet_file": "an uploaded file",
}

# Whole namespaces that are not pages.
NOT_PAGE_NAMESPACES = {"companyapi": "the company API (JSON and its generated docs; tests/api)"}


# Routes naming a file by its extension (calendar.ics, export.csv, seats.json …) are files, not pages.
FILE_ROUTE = re.compile(r"\.[a-z0-9]{2,5}$")


def _not_page(route: Route) -> bool:
    return (
        route.name in NOT_PAGES
        or route.name.split(":", 1)[0] in NOT_PAGE_NAMESPACES
        or bool(FILE_ROUTE.search(route.route))
    )


# The object each URL argument names (built by `page_objects`).
ARGUMENTS = {
    "candidate_id": "candidate",
    "job_id": "import_job",
    "run_id": "rerun",
    "request_id": "privacy_request",
    "seminar_id": "seminar",
    "slot_id": "slot",
    "type_id": "interview_type",
    "sequence_id": "sequence",
    "step_id": "step",
    "template_id": "template",
    "round_id": "selection_round",
    "offer_id": "offer",
}
# Where one route's argument names another object than ARGUMENTS says (and every `pk`).
ROUTE_ARGUMENTS = {
    "incidents_tenant_incident": {"pk": "incident"},
    "incidents_tenant_data": {"pk": "data_incident"},
    "candidates:privacy_receipt": {"request_id": "privacy_deletion"},
}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    arguments: tuple[str, ...]

    @property
    def is_mypage(self) -> bool:
        return self.route.startswith(MYPAGE_PREFIX)

    def path(self, objects: dict[str, Any]) -> str:
        path = "/" + self.route
        for argument in self.arguments:
            kind = ROUTE_ARGUMENTS.get(self.name, {}).get(argument) or ARGUMENTS[argument]
            path = path.replace(f"<int:{argument}>", str(objects[kind].pk))
        return path


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            converters = getattr(pattern.pattern, "converters", {})
            yield Route(
                name=namespace + (pattern.name or ""),
                route=prefix + str(pattern.pattern),
                arguments=tuple(converters),
            )


def tenant_routes() -> list[Route]:
    return list(_walk(get_resolver(TENANT_URLCONF).url_patterns))


def routes_unclassified() -> list[str]:
    """Routes that are neither pages this module can open nor named in NOT_PAGES."""
    missing = []
    for route in tenant_routes():
        if _not_page(route):
            continue
        for argument in route.arguments:
            if argument not in ARGUMENTS and argument not in ROUTE_ARGUMENTS.get(route.name, {}):
                missing.append(f"{route.name} ({route.route})")
    return missing


def recruiter_pages() -> list[Route]:
    return [route for route in tenant_routes() if not _not_page(route) and not route.is_mypage]


def mypage_pages() -> list[Route]:
    return [route for route in tenant_routes() if not _not_page(route) and route.is_mypage]


def page_objects(*, incident: Any, data_incident: Any, title: str = "全ページ確認") -> dict[str, Any]:
    """One of each object the pages' URLs name, in the current company's schema (call inside it); the two
    incidents (public schema) are the caller's, `data_incident` becomes a personal-data incident."""
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from accounts.models import User
    from booking.services.interviews import interview_type_create
    from candidates.models import PrivacyRequest, RerankRun
    from candidates.services.jobs import import_upload
    from candidates.services.privacy_requests import privacy_request_create, privacy_request_erase
    from incidents.services.appi import data_incident_attach
    from notifications.services import sequence_save, step_save, template_save
    from selection.services import round_create
    from selection.services.entrysheets import sheet_for, sheet_update
    from selection.services.offers import offer_issue
    from tests.candidates.conftest import sample_bytes
    from tests.factories import CandidateFactory, SeminarFactory

    seminar = SeminarFactory(title=title, quotas={"A": 5}, slots=1, capacity=5)
    candidate = CandidateFactory(rank="A")
    job, _preview = import_upload(
        upload=SimpleUploadedFile("mynavi.csv", sample_bytes("mynavi.csv")), board=None, user=None
    )
    template = template_save(name=title, subject="件名", body="本文")
    sequence = sequence_save(name=title, trigger="entry_imported")
    step = step_save(sequence=sequence, template=template)
    admin = User.objects.filter(role="admin").first()
    # The student holds an offer (their My Page shows it); the interview is for their status after it.
    offer = offer_issue(
        candidate=candidate,
        user=admin,
        deadline=timezone.now() + timedelta(days=14),
        start_date=timezone.localdate() + timedelta(days=180),
    )
    candidate.refresh_from_db()
    deletion = privacy_request_create(candidate=CandidateFactory(), kind=PrivacyRequest.Kind.DELETION)
    # The season's entry sheet is open (the student's My Page has it).
    sheet_update(
        sheet=sheet_for(season=candidate.season),
        title=title,
        intro="",
        deadline=None,
        is_open=True,
        round=None,
    )
    objects = {
        "seminar": seminar,
        "slot": seminar.slots.first(),
        "candidate": candidate,
        "import_job": job,
        "rerun": RerankRun.objects.create(reason=title),
        "privacy_request": privacy_request_create(candidate=candidate, kind=PrivacyRequest.Kind.DISCLOSURE),
        "privacy_deletion": privacy_request_erase(request_id=deletion.pk, user=admin),
        "interview_type": interview_type_create(name=title, step=candidate.status, interviewers=[admin]),
        "template": template,
        "offer": offer,
        "selection_round": round_create(season=candidate.season, name=title, evaluators=[admin]),
        "sequence": sequence,
        "step": step,
        "incident": incident,
        "data_incident": data_incident,
    }
    data_incident_attach(incident=data_incident, aware_at=timezone.now())
    return objects


def page_html(client: Any, route: Route, objects: dict[str, Any]) -> str | None:
    """The page's HTML on a GET; None when the route is no page after all: an action answering POST only
    (405), or a file (CSV, JSON, a streamed download)."""
    path = route.path(objects)
    response = client.get(path)
    if response.status_code == 405 or not response.get("Content-Type", "").startswith("text/html"):
        return None
    assert response.status_code == 200, (route.name, path, response.status_code)
    return response.content.decode()
