"""Support staff audit: every action on incidents, maintenance, components and leaks is recorded."""

from __future__ import annotations

from typing import Any

from incidents.models import StaffAuditEntry


def staff_audit(
    *, actor: Any, action: str, target: Any = None, detail: dict[str, Any] | None = None
) -> StaffAuditEntry:
    label = actor if isinstance(actor, str) else getattr(actor, "email", "") or "system"
    target_label = "" if target is None else f"{type(target).__name__}:{getattr(target, 'pk', target)}"
    return StaffAuditEntry.objects.create(
        actor=label, action=action, target=target_label, detail=detail or {}
    )
