"""Incident lifecycle: create, publish, post updates along the state machine, postmortem, components."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from incidents.errors import IncidentError
from incidents.models import (
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentUpdate,
    Scope,
    Source,
    State,
    Visibility,
)
from incidents.services.audit import staff_audit
from tenants.models import Tenant

# Forward along 調査中 → 原因特定 → 経過観察 → 解決 (skipping allowed); back to investigation on a relapse.
TRANSITIONS: dict[str, frozenset[str]] = {
    State.INVESTIGATING: frozenset({State.INVESTIGATING, State.IDENTIFIED, State.MONITORING, State.RESOLVED}),
    State.IDENTIFIED: frozenset({State.IDENTIFIED, State.INVESTIGATING, State.MONITORING, State.RESOLVED}),
    State.MONITORING: frozenset({State.MONITORING, State.INVESTIGATING, State.IDENTIFIED, State.RESOLVED}),
    State.RESOLVED: frozenset(),
}


def _notify_on_commit(incident: Incident, update: IncidentUpdate | None) -> None:
    if incident.visibility == Visibility.DRAFT:
        return
    from incidents.tasks import incident_notify_task

    incident_id, update_id = incident.pk, update.pk if update else None
    transaction.on_commit(lambda: incident_notify_task.delay(incident_id=incident_id, update_id=update_id))


@transaction.atomic
def incident_create(
    *,
    actor: Any,
    title: str,
    message_ja: str,
    message_en: str = "",
    impact: str = Impact.MINOR,
    scope: str = Scope.ALL,
    tenants: Iterable[Tenant] = (),
    components: Iterable[Component] = (),
    component_status: str = "",
    visibility: str = Visibility.DRAFT,
    source: str = Source.MANUAL,
    is_data_incident: bool = False,
    detection_key: str = "",
    title_en: str = "",
    notify: bool = True,
) -> Incident:
    title = title.strip()
    if not title:
        raise IncidentError(gettext("件名を入力してください。"))
    if not message_ja.strip():
        raise IncidentError(gettext("本文（日本語）を入力してください。"))
    if impact not in Impact.values or scope not in Scope.values or visibility not in Visibility.values:
        raise IncidentError(gettext("影響度・影響範囲・公開範囲の値が正しくありません。"))
    if component_status and component_status not in ComponentStatus.values:
        raise IncidentError(gettext("コンポーネントの状態が正しくありません。"))
    tenants = list(tenants)
    if scope != Scope.ALL and not tenants:
        raise IncidentError(gettext("影響を受ける企業を選んでください。"))
    if is_data_incident and (visibility == Visibility.PUBLIC or scope == Scope.ALL):
        raise IncidentError(gettext("個人データの漏えい等事案は、影響を受ける企業にのみ公開できます。"))
    now = timezone.now()
    incident = Incident.objects.create(
        title=title,
        title_en=title_en.strip(),
        impact=impact,
        scope=scope,
        visibility=visibility,
        source=source,
        is_data_incident=is_data_incident,
        detection_key=detection_key,
        component_status=component_status,
        published_at=now if visibility != Visibility.DRAFT else None,
    )
    if scope != Scope.ALL:
        incident.tenants.set(tenants)
    incident.components.set(list(components))
    update = IncidentUpdate.objects.create(
        incident=incident,
        state=State.INVESTIGATING,
        message_ja=message_ja.strip(),
        message_en=message_en.strip(),
        author=actor if getattr(actor, "pk", None) else None,
        author_label=_label(actor),
    )
    if is_data_incident:
        from incidents.services.appi import data_incident_attach

        # The APPI clocks start now: recording the incident is when we became aware, unless corrected later.
        data_incident_attach(incident=incident, aware_at=now)
    staff_audit(actor=actor, action="incident.create", target=incident, detail={"visibility": visibility})
    if notify:
        _notify_on_commit(incident, update)
    return incident


def _label(actor: Any) -> str:
    return actor if isinstance(actor, str) else getattr(actor, "email", "") or "system"


@transaction.atomic
def incident_publish(*, actor: Any, incident: Incident, visibility: str) -> Incident:
    """Make a draft visible (to the affected companies or to everyone) and tell them."""
    if visibility not in (Visibility.TENANTS, Visibility.PUBLIC):
        raise IncidentError(gettext("公開範囲を選んでください。"))
    if incident.is_data_incident and visibility == Visibility.PUBLIC:
        raise IncidentError(gettext("個人データの漏えい等事案は一般公開できません。"))
    was_draft = incident.visibility == Visibility.DRAFT
    fields = {"visibility": visibility}
    if was_draft:
        fields["published_at"] = timezone.now()  # type: ignore[assignment]
    Incident.objects.filter(pk=incident.pk).update(**fields)
    incident.refresh_from_db()
    staff_audit(actor=actor, action="incident.publish", target=incident, detail={"visibility": visibility})
    if was_draft:
        _notify_on_commit(incident, incident.updates.first())
    return incident


@transaction.atomic
def incident_update_post(
    *, actor: Any, incident: Incident, state: str, message_ja: str, message_en: str = "", notify: bool = True
) -> IncidentUpdate:
    """Add a timeline entry and move the state machine; refuses transitions it does not allow."""
    if state not in State.values:
        raise IncidentError(gettext("状態の値が正しくありません。"))
    if not message_ja.strip():
        raise IncidentError(gettext("本文（日本語）を入力してください。"))
    allowed_from = [current for current, targets in TRANSITIONS.items() if state in targets]
    now = timezone.now()
    fields: dict[str, Any] = {"state": state}
    if state == State.RESOLVED:
        fields["resolved_at"] = now
    # Conditional update: two staff resolving at once cannot both pass, and nothing leaves 解決.
    changed = Incident.objects.filter(pk=incident.pk, state__in=allowed_from).update(**fields)
    if not changed:
        incident.refresh_from_db()
        raise IncidentError(
            gettext("「%(before)s」から「%(after)s」には変更できません。")
            % {"before": incident.get_state_display(), "after": State(state).label}
        )
    incident.refresh_from_db()
    update = IncidentUpdate.objects.create(
        incident=incident,
        state=state,
        message_ja=message_ja.strip(),
        message_en=message_en.strip(),
        author=actor if getattr(actor, "pk", None) else None,
        author_label=_label(actor),
    )
    staff_audit(actor=actor, action="incident.update", target=incident, detail={"state": state})
    if notify:
        _notify_on_commit(incident, update)
    return update


@transaction.atomic
def incident_escalate(
    *, actor: Any, incident: Incident, impact: str, message_ja: str, message_en: str = ""
) -> Incident:
    """Raise the impact (never lowers it) and publish a draft when it becomes major."""
    order = list(Impact.values)
    if order.index(impact) <= order.index(incident.impact):
        return incident
    Incident.objects.filter(pk=incident.pk).update(impact=impact, escalated_at=timezone.now())
    incident.refresh_from_db()
    staff_audit(actor=actor, action="incident.escalate", target=incident, detail={"impact": impact})
    if incident.visibility == Visibility.DRAFT and impact in (Impact.MAJOR, Impact.CRITICAL):
        # Published to the companies it concerns only, when it concerns some (one company's errors).
        only_them = incident.is_data_incident or incident.scope == Scope.CHOSEN
        incident_publish(
            actor=actor, incident=incident, visibility=Visibility.TENANTS if only_them else Visibility.PUBLIC
        )
    if incident.is_open:
        incident_update_post(
            actor=actor, incident=incident, state=incident.state, message_ja=message_ja, message_en=message_en
        )
    return incident


@transaction.atomic
def incident_postmortem_set(*, actor: Any, incident: Incident, text: str) -> Incident:
    if incident.state != State.RESOLVED:
        raise IncidentError(gettext("事後報告は解決済みの障害にのみ追加できます。"))
    if not text.strip():
        raise IncidentError(gettext("事後報告の本文を入力してください。"))
    Incident.objects.filter(pk=incident.pk).update(
        postmortem=text.strip(), postmortem_published_at=timezone.now()
    )
    incident.refresh_from_db()
    staff_audit(actor=actor, action="incident.postmortem", target=incident)
    return incident


@transaction.atomic
def component_save(
    *, actor: Any, name: str, slug: str, status: str, affects_booking: bool = False, position: int = 0
) -> Component:
    if not name.strip() or not slug.strip():
        raise IncidentError(gettext("名称と識別子を入力してください。"))
    if status not in ComponentStatus.values:
        raise IncidentError(gettext("状態の値が正しくありません。"))
    component, created = Component.objects.update_or_create(
        slug=slug.strip(),
        defaults={
            "name": name.strip(),
            "status": status,
            "affects_booking": affects_booking,
            "position": position,
        },
    )
    staff_audit(
        actor=actor,
        action="component.create" if created else "component.update",
        target=component,
        detail={"status": status},
    )
    return component


@transaction.atomic
def component_status_set(*, actor: Any, component: Component, status: str) -> Component:
    if status not in ComponentStatus.values:
        raise IncidentError(gettext("状態の値が正しくありません。"))
    Component.objects.filter(pk=component.pk).update(status=status, updated_at=timezone.now())
    component.refresh_from_db()
    staff_audit(actor=actor, action="component.status", target=component, detail={"status": status})
    return component
