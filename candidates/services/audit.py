"""Audit entries for every read in bulk, export, merge and deletion of student data."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest

from candidates.models import AuditEntry


def client_ip(*, request: HttpRequest) -> str | None:
    """The client's address as the server saw it (proxies are trusted only through settings)."""
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    user: Any | None,
    action: str,
    student_count: int,
    target: str = "",
    ip: str | None = None,
    candidate_ids: Iterable[int] = (),
    filters: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry; `target` and `filters` name what was touched (never personal data).

    `candidate_ids` lists whose records were exported or read, so a leak's affected students can be computed.
    """
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEntry.objects.create(
        user=user if authenticated else None,
        actor=user.email if authenticated else "system",  # type: ignore[union-attr]
        action=action,
        target=target[:200],
        student_count=student_count,
        candidate_ids=sorted({int(candidate_id) for candidate_id in candidate_ids}),
        filters=filters or {},
        ip=ip,
    )


def audit_request(
    *,
    request: HttpRequest,
    action: str,
    student_count: int,
    target: str = "",
    candidate_ids: Iterable[int] = (),
    filters: dict[str, Any] | None = None,
) -> AuditEntry:
    return audit_record(
        user=request.user,
        action=action,
        student_count=student_count,
        target=target,
        ip=client_ip(request=request),
        candidate_ids=candidate_ids,
        filters=filters,
    )


def audit_filters(*, filters: Any) -> dict[str, Any]:
    """The workspace filters as stored in an audit entry: search words become only 'there was a search'."""
    values = {
        key: value for key, value in dataclasses.asdict(filters).items() if value not in ("", None, (), [])
    }
    if values.pop("q", None):
        values["search"] = True
    return values
