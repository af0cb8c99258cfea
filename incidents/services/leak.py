"""Leak signals (exports, bulk reads, foreign tokens, failed sign-ins, reports) → a private data incident."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop
from django_tenants.utils import get_public_schema_name, schema_context

from incidents.models import (
    DataIncident,
    Impact,
    Incident,
    LeakPolicy,
    LeakSignal,
    Scope,
    SignalKind,
    Source,
    State,
    Visibility,
)
from incidents.texts import both_languages
from tenants.models import Tenant
from tenants.selectors import tenant_all

logger = logging.getLogger(__name__)
DETECTOR = "leak-detector"

SIGNAL_TEXT = {
    SignalKind.BULK_EXPORT: gettext_lazy("しきい値を超える件数の学生データがエクスポートされました。"),
    SignalKind.BULK_READ: gettext_lazy(
        "1 つのアカウントが短時間に通常を大きく超える件数の学生データを閲覧しました。"
    ),
    SignalKind.FOREIGN_TOKEN: gettext_lazy(
        "御社のトークンまたはセッションが、別の企業の画面で提示されました。"
    ),
    SignalKind.FAILED_SIGNINS: gettext_lazy("御社のログイン画面で、ログインの失敗が短時間に多発しています。"),
    SignalKind.REPORTED: gettext_lazy("個人データの漏えいの疑いが報告されました。"),
}
OPENED_TITLE = gettext_noop("個人データの漏えい等の疑い（調査中）")
OPENED_MESSAGE = gettext_noop(
    "監視により、御社の学生の個人データについて漏えい等の疑いのある事象を検知しました。"
    "現在、事実関係と影響範囲を調査しています。"
)


def leak_policy_for(*, tenant: Tenant) -> LeakPolicy:
    policy, _ = LeakPolicy.objects.get_or_create(tenant=tenant)
    return policy


def _data_incident_open(*, tenant: Tenant) -> Incident:
    """The tenant's open detector-raised data incident, created (private to it) when there is none."""
    from incidents.services.lifecycle import incident_create

    key = f"leak:{tenant.pk}"
    existing = Incident.objects.filter(detection_key=key).exclude(state=State.RESOLVED).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            title, title_en = both_languages(OPENED_TITLE)
            message_ja, message_en = both_languages(OPENED_MESSAGE)
            incident = incident_create(
                actor=DETECTOR,
                title=title,
                title_en=title_en,
                message_ja=message_ja,
                message_en=message_en,
                impact=Impact.MAJOR,
                scope=Scope.DETECTED,
                tenants=[tenant],
                visibility=Visibility.TENANTS,
                source=Source.LEAK,
                is_data_incident=True,
                detection_key=key,
            )
            return incident
    except IntegrityError:
        # Another signal of the same company opened it a moment earlier: join that one.
        return Incident.objects.filter(detection_key=key).exclude(state=State.RESOLVED).get()


@transaction.atomic
def leak_signal_record(
    *,
    tenant: Tenant,
    kind: str,
    detail: dict[str, Any] | None = None,
    candidate_ids: Iterable[int] = (),
    people: int = 0,
) -> LeakSignal:
    """Record a signal and open (or join) the company's private data incident; adds affected students."""
    from incidents.services.appi import affected_students_add

    with schema_context(get_public_schema_name()):
        ids = sorted({int(candidate_id) for candidate_id in candidate_ids})
        incident = _data_incident_open(tenant=tenant)
        signal = LeakSignal.objects.create(
            tenant=tenant, kind=kind, detail=detail or {}, candidate_ids=ids, incident=incident
        )
        if ids:
            affected_students_add(data_incident=incident.data, tenant=tenant, candidate_ids=ids)
        if people:
            DataIncident.objects.filter(pk=incident.data.pk).update(
                people_estimate=F("people_estimate") + people
            )
    logger.warning("leak signal %s for tenant %s (incident %s)", kind, tenant.schema_name, incident.pk)
    return signal


def leak_check_export(
    *, tenant: Tenant, actor_id: int | None, rows: int, candidate_ids: Iterable[int] = ()
) -> LeakSignal | None:
    policy = leak_policy_for(tenant=tenant)
    if rows <= policy.export_rows:
        return None
    return leak_signal_record(
        tenant=tenant,
        kind=SignalKind.BULK_EXPORT,
        detail={"actor_id": actor_id, "rows": rows, "threshold": policy.export_rows},
        candidate_ids=candidate_ids,
        people=rows,
    )


def window_key(*, tenant: Tenant, name: str, seconds: int, back: int = 0, at: datetime | None = None) -> str:
    """The key of the fixed time bucket of `seconds` holding `at` (now by default; `back` buckets earlier)."""
    # The database name keeps deployments (and parallel test databases) sharing one Redis apart.
    bucket = int((at or timezone.now()).timestamp()) // seconds - back
    return f"incidents:leak:{settings.DATABASES['default']['NAME']}:{tenant.pk}:{name}:{bucket}"


def _window_count(*, tenant: Tenant, name: str, amount: int, seconds: int, at: datetime | None = None) -> int:
    """A counter per tenant and fixed time bucket (the cache key function adds the schema as well)."""
    key = window_key(tenant=tenant, name=name, seconds=seconds, at=at)
    with schema_context(tenant.schema_name):
        cache.add(key, 0, seconds * 2)
        return cache.incr(key, amount)


def leak_check_reads(
    *, tenant: Tenant, actor_id: int | None, rows: int, candidate_ids: Iterable[int] = ()
) -> LeakSignal | None:
    """Count records read per account in the policy's window; fires once when the limit is crossed."""
    if rows <= 0:
        return None
    policy = leak_policy_for(tenant=tenant)
    seconds = policy.window_minutes * 60
    total = _window_count(tenant=tenant, name=f"reads:{actor_id}", amount=rows, seconds=seconds)
    if total <= policy.reads_per_window or total - rows > policy.reads_per_window:
        return None
    return leak_signal_record(
        tenant=tenant,
        kind=SignalKind.BULK_READ,
        detail={"actor_id": actor_id, "rows": total, "threshold": policy.reads_per_window},
        candidate_ids=candidate_ids,
        people=total,
    )


def leak_check_failed_signin(*, tenant: Tenant, account: str, address: str) -> LeakSignal | None:
    """Failed sign-ins to existing accounts, each account and address pair counted once per 15 minutes; more
    than the policy allows within this quarter hour and the one before is a signal (once per run).

    The caller passes only failures against a real, active account (`account` is its digest): failures
    for addresses that are no account, and one client retrying one account, are noise anyone can make and
    must not mail and webhook a company about a leak.
    """
    seconds = 15 * 60
    at = timezone.now()  # every key of this failure from the same instant: never two sides of an edge
    key = functools.partial(window_key, tenant=tenant, seconds=seconds, at=at)
    with schema_context(tenant.schema_name):
        if not cache.add(key(name=f"failed-signin:{account}:{address}"), 1, seconds * 2):
            return None
    policy = leak_policy_for(tenant=tenant)
    # This bucket and the one before: failures on both sides of a bucket's edge count together, so a
    # run of them is seen whenever it happens, not only when it fits inside one fixed quarter hour.
    total = _window_count(tenant=tenant, name="failed-signins", amount=1, seconds=seconds, at=at)
    with schema_context(tenant.schema_name):
        total += int(cache.get(key(name="failed-signins", back=1)) or 0)
        if total <= policy.failed_signins:
            return None
        # Once per run: not again in this bucket, nor in the one after a bucket that already said it.
        if cache.get(key(name="failed-signins-fired", back=1)):
            return None
        if not cache.add(key(name="failed-signins-fired"), 1, seconds * 2):
            return None
    return leak_signal_record(
        tenant=tenant,
        kind=SignalKind.FAILED_SIGNINS,
        detail={"count": total, "threshold": policy.failed_signins},
    )


def leak_foreign_token(*, owner: Tenant, presented_on: Tenant, what: str) -> LeakSignal:
    """A credential of `owner` came in on another company's host: that credential is out of owner's hands."""
    return leak_signal_record(
        tenant=owner,
        kind=SignalKind.FOREIGN_TOKEN,
        detail={"what": what[:40], "presented_on_tenant_id": presented_on.pk},
    )


def leak_report(*, tenant: Tenant, actor: Any, note: str) -> LeakSignal:
    """The 'report a suspected leak' button (support staff or the company's own users)."""
    from incidents.services.audit import staff_audit

    actor_label = actor if isinstance(actor, str) else getattr(actor, "email", "") or "unknown"
    signal = leak_signal_record(tenant=tenant, kind=SignalKind.REPORTED, detail={"note": note[:1000]})
    staff_audit(
        actor=actor_label, action="leak.report", target=signal.incident, detail={"tenant": tenant.slug}
    )
    return signal


def leak_scan_all() -> int:
    """Feed audit-log entries of every company through the checks (when the candidates audit log exists)."""
    from incidents.services.audit_feed import audit_feed_scan

    return sum(audit_feed_scan(tenant=tenant) for tenant in tenant_all())
