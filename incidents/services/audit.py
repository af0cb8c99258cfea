"""Support staff audit: every action on incidents, maintenance, components and leaks is recorded."""

from __future__ import annotations

from typing import Any

from incidents.models import StaffAuditEntry


def staff_audit(
    *, actor: Any, action: str, target: Any = None, detail: dict[str, Any] | None = None
) -> StaffAuditEntry:
    label = actor if isinstance(actor, str) else getattr(actor, "email", "") or "system"
    if target is None or isinstance(target, str):
        target_label = target or ""
    else:
        target_label = f"{type(target).__name__}:{getattr(target, 'pk', target)}"
    return StaffAuditEntry.objects.create(
        actor=label, action=action, target=target_label, detail=detail or {}
    )
