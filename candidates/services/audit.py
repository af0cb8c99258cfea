"""Audit entries for every read in bulk, export, merge and deletion of student data."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from candidates.models import AuditEntry


def client_ip(*, request: HttpRequest) -> str | None:
    """The client's address as the server saw it (proxies are trusted only through settings)."""
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *, user: Any | None, action: str, student_count: int, target: str = "", ip: str | None = None
) -> AuditEntry:
    """Write one audit entry; `target` names what was touched (never personal data)."""
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEntry.objects.create(
        user=user if authenticated else None,
        actor=user.email if authenticated else "system",
        action=action,
        target=target[:200],
        student_count=student_count,
        ip=ip,
    )


def audit_request(*, request: HttpRequest, action: str, student_count: int, target: str = "") -> AuditEntry:
    return audit_record(
        user=request.user,
        action=action,
        student_count=student_count,
        target=target,
        ip=client_ip(request=request),
    )
