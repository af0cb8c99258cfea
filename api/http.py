"""The company API object: one exit for every answer (problem details, ETag, audit) and the OpenAPI page."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Redoc

from api.errors import PROBLEMS, ApiProblem
from booking.errors import BookingError
from candidates.errors import CandidateError, RankTableError
from candidates.services.audit import audit_record, client_ip
from incidents.errors import IncidentError
from notifications.errors import NotificationError

logger = logging.getLogger(__name__)
PROBLEM_TYPE = "https://docs.saiyo.example/api/problems/"


@dataclass
class AuditNote:
    """What an operation touched, for its audit entry (ids only)."""

    action: str = "api"
    candidate_ids: list[int] = field(default_factory=list)


def audit_note(request: HttpRequest, *, action: str, candidate_ids: list[int]) -> None:
    """Called by an operation that read or wrote students: the call's audit entry names them."""
    request.api_audit = AuditNote(action=action, candidate_ids=candidate_ids)


def problem_body(request: HttpRequest, problem: ApiProblem) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE + problem.code,
        "title": problem.title,
        "title_en": problem.title_en,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
        "code": problem.code,
        **problem.extra,
    }


class ProblemApi(NinjaAPI):
    """A NinjaAPI whose every answer leaves through create_response: problems, ETags, the call's audit."""

    # Company data is per token; the public status is the same for everybody and may be cached briefly.
    cache_control = "private, no-cache"
    # Company calls are audited per call (candidates' audit log); staff calls by the incident services.
    audit_calls = True

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """The document says what the answers are: errors come as application/problem+json."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
        return schema

    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        response = super().create_response(request, data, status=status, temporal_response=temporal_response)
        if response.status_code >= 400:
            response["Content-Type"] = "application/problem+json"
        elif request.method in ("GET", "HEAD") and response.status_code == 200:
            etag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
            # What a token reads is that token's: never a shared cache's, whatever the API's default.
            cache_control = "private, no-cache" if getattr(request, "api_token", None) else self.cache_control
            response["ETag"] = etag
            response["Cache-Control"] = cache_control
            wanted = [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]
            if etag in wanted or "*" in wanted:
                response = HttpResponse(status=304, headers={"ETag": etag, "Cache-Control": cache_control})
        if getattr(request, "idempotent_replay", False):
            response["Idempotent-Replayed"] = "true"
        if self.audit_calls:
            _audit(request, response)
        return response


def _audit(request: HttpRequest, response: HttpResponse) -> None:
    """One audit entry per authenticated call, like the pages' (the personal data read are named)."""
    token = getattr(request, "api_token", None)
    if token is None:
        return
    note: AuditNote = getattr(request, "api_audit", None) or AuditNote()
    audit_record(
        user=token.created_by,
        action=note.action,
        student_count=len(note.candidate_ids),
        target=f"API {token.prefix}… {request.method} {request.path} {response.status_code}",
        ip=client_ip(request=request),
        candidate_ids=note.candidate_ids,
    )


def problem_response(api: NinjaAPI, request: HttpRequest, problem: ApiProblem) -> HttpResponse:
    response = api.create_response(request, problem_body(request, problem), status=problem.status)
    for name, value in problem.headers.items():
        response[name] = value
    return response


# The general problem of each status, for errors that carry only a status (more specific codes share statuses).
_GENERAL = ("unauthorized", "insufficient_scope", "not_found", "method_not_allowed", "validation", "conflict")
_STATUS_CODES = {
    PROBLEMS[code][0]: code for code in (*_GENERAL, "rate_limited", "bad_request", "server_error")
}


def handlers_install(api: NinjaAPI) -> None:
    """Every error the API can meet answers in the one problem shape."""

    @api.exception_handler(ApiProblem)
    def _problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
        return problem_response(api, request, exc)

    @api.exception_handler(BookingError)
    def _booking(request: HttpRequest, exc: BookingError) -> HttpResponse:
        general = _STATUS_CODES.get(exc.http_status, "bad_request")
        problem = ApiProblem(general, str(exc.message), status=exc.http_status)
        problem.code = exc.code
        return problem_response(api, request, problem)

    @api.exception_handler(IncidentError)
    def _incident(request: HttpRequest, exc: IncidentError) -> HttpResponse:
        return problem_response(api, request, ApiProblem("validation", exc.message))

    @api.exception_handler(RankTableError)
    def _rank_table(request: HttpRequest, exc: RankTableError) -> HttpResponse:
        # The upload's own message names the rows at fault (as on the rank table page).
        return problem_response(api, request, ApiProblem("rank_table_invalid", exc.message))

    @api.exception_handler(CandidateError)
    def _candidate(request: HttpRequest, exc: CandidateError) -> HttpResponse:
        return problem_response(api, request, ApiProblem("validation", exc.message))

    @api.exception_handler(NotificationError)
    def _notification(request: HttpRequest, exc: NotificationError) -> HttpResponse:
        return problem_response(api, request, ApiProblem("validation", str(exc)))

    @api.exception_handler(ValidationError)
    def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
            for error in exc.errors
        ]
        return problem_response(api, request, ApiProblem("validation", extra={"errors": errors}))

    @api.exception_handler(AuthenticationError)
    def _authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return problem_response(api, request, ApiProblem("unauthorized"))

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem_response(api, request, ApiProblem("not_found"))

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = _STATUS_CODES.get(exc.status_code, "bad_request")
        return problem_response(api, request, ApiProblem(code, status=exc.status_code))

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # No message, no values: the traceback goes to the log and Sentry (scrubbed), not to the caller.
        logger.exception("API error on %s %s", request.method, request.path)
        return problem_response(api, request, ApiProblem("server_error"))


def api_new(
    *, cache_control: str = ProblemApi.cache_control, audit_calls: bool = True, **kwargs: Any
) -> ProblemApi:
    api = ProblemApi(docs=Redoc(settings={"hideDownloadButton": False}), **kwargs)
    api.cache_control = cache_control
    api.audit_calls = audit_calls
    handlers_install(api)
    return api
