"""Reads the companies' audit logs (candidates.AuditEntry) and feeds the export and bulk-read checks."""

from __future__ import annotations

import re

from django.core.cache import cache
from django.db.models import Model
from django_tenants.utils import schema_context

from tenants.models import Tenant

TARGET_ID = re.compile(r"#(\d+)")
BATCH = 5000


def _audit_model() -> type[Model] | None:
    from django.apps import apps

    try:
        return apps.get_model("candidates", "AuditEntry")
    except LookupError:
        return None


def cursor_key() -> str:
    from django.conf import settings

    return f"incidents:audit-scan:{settings.DATABASES['default']['NAME']}:last-id"


def audit_feed_scan(*, tenant: Tenant) -> int:
    """Run the checks over the entries added since the last scan; returns how many entries it read."""
    from incidents.services.leak import leak_check_export, leak_check_reads

    model = _audit_model()
    if model is None:
        return 0
    with schema_context(tenant.schema_name):
        # The cache key function adds the tenant's schema: one cursor per company.
        last_id = cache.get(cursor_key()) or 0
        entries = list(
            model.objects.filter(pk__gt=last_id)  # type: ignore[attr-defined]
            .order_by("pk")
            .values("pk", "user_id", "action", "target", "student_count", "candidate_ids")[:BATCH]
        )
        if entries:
            cache.set(cursor_key(), entries[-1]["pk"], None)
    for entry in entries:
        # The ids the entry recorded (exports, lists, details); older entries only name "#id" in the target.
        ids = list(entry.get("candidate_ids") or []) or [
            int(value) for value in TARGET_ID.findall(entry["target"] or "")
        ]
        if entry["action"] == "export":
            leak_check_export(
                tenant=tenant, actor_id=entry["user_id"], rows=entry["student_count"], candidate_ids=ids
            )
        elif entry["action"] in ("list", "detail", "search", "read"):
            leak_check_reads(
                tenant=tenant, actor_id=entry["user_id"], rows=entry["student_count"], candidate_ids=ids
            )
    return len(entries)
