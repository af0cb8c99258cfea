"""Telling every affected company at once: banners, e-mail, webhooks, acknowledgements and escalation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Role, User
from accounts.services import site_url
from incidents.banners import Audience, incident_banner
from incidents.context_processors import student_banners_forget
from incidents.errors import IncidentError
from incidents.mail import incident_mails_send
from incidents.models import (
    Acknowledgement,
    ComponentSubscription,
    Impact,
    Incident,
    IncidentUpdate,
    State,
    Visibility,
)
from incidents.selectors import incident_affected_tenants, incident_affects
from incidents.services.webhooks import webhook_deliveries_create
from notifications.services import recruiters_push, recruiters_push_many, students_push_many
from tenants.models import Tenant
from tenants.services import tenant_domain
from webhooks.events import event_emit

logger = logging.getLogger(__name__)
ACK_SALT = "incidents.ack"
MAIL_CHUNK = 25
WEBHOOK_BATCH = 50  # deliveries sent concurrently by one task (one task each took 20 s for 1,000 companies)


def ack_escalate_minutes() -> int:
    return int(settings.INCIDENT_ACK_ESCALATE_MINUTES)


def ack_token(*, incident_id: int, tenant_id: int) -> str:
    return signing.dumps({"i": incident_id, "t": tenant_id}, salt=ACK_SALT)


def ack_token_read(*, token: str) -> tuple[int, int]:
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=60 * 60 * 24 * 30)
        return int(data["i"]), int(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise IncidentError(gettext("確認用リンクが無効か、有効期限が切れています。")) from error


def banner_event(*, incident: Incident, update: IncidentUpdate | None) -> dict[str, Any]:
    """The recruiters' banner push of this incident (the same banner every page renders on load)."""
    banner = incident_banner(incident=incident, update=update, audience=Audience.RECRUITERS)
    assert banner is not None  # recruiters see every incident that affects their company
    return banner.as_event()


def _webhook_payload(*, incident: Incident, update: IncidentUpdate | None, tenant: Tenant) -> dict[str, Any]:
    return {
        "type": "incident.resolved" if incident.state == State.RESOLVED else "incident.updated",
        "timestamp": timezone.now().isoformat(),
        "data": {
            "incident_id": incident.pk,
            "title": incident.title,
            "state": incident.state,
            "impact": incident.impact,
            "components": [component.slug for component in incident.components.all()],
            "message_ja": update.message_ja if update else "",
            "message_en": update.message_en if update else "",
            "tenant": tenant.slug,
            "status_url": site_url(
                host=tenant_domain(slug=tenant.slug), path=f"/status/incidents/{incident.pk}/"
            ),
        },
    }


def banners_push(*, tenants: list[Tenant], event: dict[str, Any]) -> None:
    """The incident banner on every signed-in recruiter's screen of these companies (notifications sends)."""
    recruiters_push_many(tenants=tenants, event=event)


def student_banners_push(*, tenants: list[Tenant], incident: Incident, update: IncidentUpdate | None) -> None:
    """The students' notice on every open My Page of these companies, when the incident affects booking."""
    banner = incident_banner(incident=incident, update=update, audience=Audience.STUDENTS)
    if banner is not None:
        student_banners_forget(tenants=tenants)
        students_push_many(tenants=tenants, event=banner.as_event())


@dataclass(frozen=True)
class Fanout:
    tenant_ids: list[int]
    webhook_delivery_ids: list[int]
    mail_chunks: list[list[int]]

    @property
    def webhook_batches(self) -> list[list[int]]:
        ids = self.webhook_delivery_ids
        return [ids[i : i + WEBHOOK_BATCH] for i in range(0, len(ids), WEBHOOK_BATCH)]


def incident_fanout(*, incident_id: int, update_id: int | None) -> Fanout:
    """Push banners now; create acknowledgements and webhook deliveries; return the work to queue."""
    incident = Incident.objects.prefetch_related("components").get(pk=incident_id)
    if incident.visibility == Visibility.DRAFT:
        return Fanout([], [], [])
    update = IncidentUpdate.objects.filter(pk=update_id).first() if update_id else incident.updates.first()
    tenants = list(incident_affected_tenants(incident=incident).only("pk", "slug", "name", "schema_name"))
    banners_push(tenants=tenants, event=banner_event(incident=incident, update=update))
    student_banners_push(tenants=tenants, incident=incident, update=update)
    now = timezone.now()
    with transaction.atomic():
        if incident.state != State.RESOLVED:
            Acknowledgement.objects.bulk_create(
                [Acknowledgement(incident=incident, tenant=tenant, notified_at=now) for tenant in tenants],
                ignore_conflicts=True,
            )
        payloads = {
            tenant.pk: _webhook_payload(incident=incident, update=update, tenant=tenant) for tenant in tenants
        }
        delivery_ids = webhook_deliveries_create(
            tenant_ids=list(payloads),
            event_type=payloads and next(iter(payloads.values()))["type"] or "",
            payloads=payloads,
        )
    ids = [tenant.pk for tenant in tenants]
    return Fanout(ids, delivery_ids, [ids[i : i + MAIL_CHUNK] for i in range(0, len(ids), MAIL_CHUNK)])


def _mail_text(
    *, incident: Incident, update: IncidentUpdate | None, tenant: Tenant, ack_url: str | None
) -> tuple[str, str]:
    state_label = State(incident.state).label
    subject = gettext("[%(company)s] 【障害のお知らせ・%(state)s】%(title)s") % {
        "company": tenant.name,
        "state": state_label,
        "title": incident.title,
    }
    components = gettext("、").join(c.name for c in incident.components.all()) or "—"
    lines = [
        gettext("%(company)s ご担当者様") % {"company": tenant.name},
        "",
        gettext("採用管理システムで次の事象が発生しています。"),
        gettext("件名: %(title)s") % {"title": incident.title},
        gettext("状態: %(state)s") % {"state": state_label},
        gettext("影響度: %(impact)s") % {"impact": Impact(incident.impact).label},
        gettext("影響する機能: %(components)s") % {"components": components},
        "",
        update.message_ja if update else "",
        "",
        gettext("最新の状況: %(url)s")
        % {"url": site_url(host=tenant_domain(slug=tenant.slug), path="/status/")},
    ]
    if ack_url:
        lines += ["", gettext("お手数ですが、次のリンクから本件の受領をご確認ください:"), ack_url]
    if update is not None and update.message_en:
        lines += ["", "---- English ----", update.message_en]
    return subject, "\n".join(lines)


def incident_mail_tenant(
    *, incident_id: int, update_id: int | None, tenant_id: int, renotify: bool = False
) -> int:
    """Queue e-mail to one company's admins (with the acknowledgement link) and its subscribed recruiters."""
    return incident_mail_tenants(
        incident_id=incident_id, update_id=update_id, tenant_ids=[tenant_id], renotify=renotify
    )


def incident_mail_tenants(
    *, incident_id: int, update_id: int | None, tenant_ids: list[int], renotify: bool = False
) -> int:
    """`incident_mail_tenant` for several companies: the incident, its update, the companies, the component
    subscriptions and the recipients are read once for all of them (at 1,000 companies the per-company
    reads and schema switches were most of the time to fill the outboxes)."""
    incident = Incident.objects.prefetch_related("components").get(pk=incident_id)
    update = IncidentUpdate.objects.filter(pk=update_id).first() if update_id else incident.updates.first()
    tenants = Tenant.objects.in_bulk(tenant_ids)
    component_ids = [component.pk for component in incident.components.all()]
    subscriber_ids: dict[int, set[int]] = {tenant_id: set() for tenant_id in tenants}
    for tenant_id, user_id in ComponentSubscription.objects.filter(
        tenant_id__in=list(tenants), component_id__in=component_ids
    ).values_list("tenant_id", "user_id"):
        subscriber_ids[tenant_id].add(user_id)
    # A company deleted since the incident was published gets nothing.
    recipients = recipients_of(
        tenants=[tenants[i] for i in tenant_ids if i in tenants], subscriber_ids=subscriber_ids
    )
    sent = 0
    # One transaction for the chunk: one commit (a WAL flush) instead of one per company; a retried chunk
    # inserts nothing twice (the outbox is idempotent on the keys).
    with transaction.atomic():
        for tenant_id in tenant_ids:
            if tenant_id not in tenants:
                continue
            sent += _incident_mail_queue(
                incident=incident,
                update=update,
                tenant=tenants[tenant_id],
                recipients=recipients[tenant_id],
                renotify=renotify,
            )
            if not renotify:
                # The company's own event webhooks (incident.*), in its outbox, committed with its mail.
                payload = _webhook_payload(incident=incident, update=update, tenant=tenants[tenant_id])
                event_emit(
                    event_type=payload["type"], data=payload["data"], schema=tenants[tenant_id].schema_name
                )
    return sent


def recipients_of(
    *, tenants: list[Tenant], subscriber_ids: dict[int, set[int]] | None = None
) -> dict[int, list[Any]]:
    """Per company: (user id, e-mail, is admin) of its active admins and subscribed recruiters, admins
    first; one query over the companies' schemas instead of a schema switch and a query per company."""
    recipients: dict[int, list[Any]] = {tenant.pk: [] for tenant in tenants}
    if not tenants:
        return recipients
    table = User._meta.db_table
    parts, params = [], []
    for tenant in tenants:
        parts.append(
            f"SELECT %s, id, email, role = %s FROM {connection.ops.quote_name(tenant.schema_name)}.{table}"
            " WHERE is_active AND (role = %s OR id = ANY(%s))"
        )
        params += [tenant.pk, Role.ADMIN, Role.ADMIN, sorted((subscriber_ids or {}).get(tenant.pk, ()))]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 1, 4 DESC, 2", params)
        for tenant_id, user_id, email, is_admin in cursor.fetchall():
            recipients[tenant_id].append((user_id, email, is_admin))
    return recipients


def _incident_mail_queue(
    *,
    incident: Incident,
    update: IncidentUpdate | None,
    tenant: Tenant,
    recipients: list[tuple[int, str, bool]],
    renotify: bool,
) -> int:
    ack_url = None
    if incident.state != State.RESOLVED:
        token = ack_token(incident_id=incident.pk, tenant_id=tenant.pk)
        ack_url = site_url(host=tenant_domain(slug=tenant.slug), path=f"/status/ack/{token}/")
    stamp = "renotify" if renotify else str(update.pk if update else 0)
    mails = []
    for user_id, email, is_admin in recipients:
        subject, body = _mail_text(
            incident=incident, update=update, tenant=tenant, ack_url=ack_url if is_admin else None
        )
        if renotify:
            subject = gettext("【再送・要確認】%(subject)s") % {"subject": subject}
        mails.append((email, subject, body, f"incident:{incident.pk}:{stamp}:{user_id}"))
    # One INSERT per company: its rows commit together, so one outbox wake-up finds them all.
    return incident_mails_send(tenant=tenant, mails=mails)


@transaction.atomic
def incident_acknowledge(*, incident: Incident, tenant: Tenant, by: str, via: str) -> Acknowledgement:
    """Record that the company has received the notice (idempotent: the first acknowledgement stands)."""
    if incident.visibility == Visibility.DRAFT or not incident_affects(incident=incident, tenant=tenant):
        raise IncidentError(gettext("この障害はお客様の企業には通知されていません。"))
    ack, _ = Acknowledgement.objects.get_or_create(
        incident=incident, tenant=tenant, defaults={"notified_at": timezone.now()}
    )
    Acknowledgement.objects.filter(pk=ack.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=by[:254], acknowledged_via=via
    )
    ack.refresh_from_db()
    return ack


def acknowledgements_escalate(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """Unacknowledged major incidents past the configured time: flag for a phone call, notify again."""
    now = now or timezone.now()
    due = Acknowledgement.objects.filter(
        acknowledged_at__isnull=True,
        renotified_at__isnull=True,
        notified_at__lte=now - timedelta(minutes=ack_escalate_minutes()),
        incident__impact__in=[Impact.MAJOR, Impact.CRITICAL],
        incident__visibility__in=[Visibility.TENANTS, Visibility.PUBLIC],
    ).exclude(incident__state=State.RESOLVED)
    escalated = []
    for ack in due.select_related("incident", "tenant"):
        # Conditional: two beat runs never escalate the same row twice.
        if Acknowledgement.objects.filter(pk=ack.pk, renotified_at__isnull=True).update(
            renotified_at=now, phone_call_flagged_at=now
        ):
            event = banner_event(incident=ack.incident, update=ack.incident.updates.first())
            event["text"] = gettext("【要確認】%(text)s（管理者の方は受領確認をお願いします）") % {
                "text": event["text"]
            }
            event["version"] += ".escalated"  # shown again even where the banner was dismissed
            recruiters_push(tenant=ack.tenant, event=event)
            escalated.append((ack.incident_id, ack.tenant_id))
    return escalated
