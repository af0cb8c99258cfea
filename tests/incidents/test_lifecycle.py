"""Incident lifecycle: the state machine, publishing, postmortems, escalation and the staff audit."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from incidents.errors import IncidentError
from incidents.models import Component, Impact, Incident, Scope, StaffAuditEntry, State, Visibility
from incidents.services.lifecycle import (
    incident_create,
    incident_escalate,
    incident_postmortem_set,
    incident_publish,
    incident_update_post,
)


def _incident(**kwargs) -> Incident:
    defaults = {"actor": "ops@example.jp", "title": "メール配信の遅延", "message_ja": "調査しています。"}
    return incident_create(**(defaults | kwargs))


@pytest.mark.django_db
def test_full_lifecycle_with_timeline_and_audit(tenants):
    email = Component.objects.get(slug="email")
    incident = _incident(components=[email], impact=Impact.MAJOR)
    assert incident.state == State.INVESTIGATING and incident.visibility == Visibility.DRAFT
    assert incident.published_at is None
    incident_publish(actor="ops@example.jp", incident=incident, visibility=Visibility.PUBLIC)
    assert incident.published_at is not None
    for state in (State.IDENTIFIED, State.MONITORING, State.RESOLVED):
        incident_update_post(
            actor="ops@example.jp", incident=incident, state=state, message_ja=f"{state} です。"
        )
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED and incident.resolved_at is not None
    assert [u.state for u in incident.updates.all()] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]
    incident_postmortem_set(actor="ops@example.jp", incident=incident, text="# 原因\n設定ミス")
    actions = list(
        StaffAuditEntry.objects.filter(target=f"Incident:{incident.pk}").values_list("action", flat=True)
    )
    assert sorted(actions) == sorted(
        [
            "incident.create",
            "incident.publish",
            "incident.update",
            "incident.update",
            "incident.update",
            "incident.postmortem",
        ]
    )


@pytest.mark.django_db
def test_resolved_is_terminal_and_bad_input_is_refused(tenants):
    incident = _incident()
    incident_update_post(actor="a", incident=incident, state=State.RESOLVED, message_ja="解決")
    with pytest.raises(IncidentError, match="変更できません"):
        incident_update_post(actor="a", incident=incident, state=State.INVESTIGATING, message_ja="再発")
    with pytest.raises(IncidentError, match="本文"):
        _incident(message_ja="  ")
    with pytest.raises(IncidentError, match="企業を選んで"):
        _incident(scope=Scope.CHOSEN)
    with pytest.raises(IncidentError, match="事後報告は解決済み"):
        incident_postmortem_set(actor="a", incident=_incident(), text="x")


@pytest.mark.django_db
def test_data_incident_can_never_be_public(tenants):
    with pytest.raises(IncidentError):
        _incident(
            is_data_incident=True, scope=Scope.CHOSEN, tenants=[tenants["acme"].tenant], visibility="public"
        )
    incident = _incident(is_data_incident=True, scope=Scope.CHOSEN, tenants=[tenants["acme"].tenant])
    # The APPI clocks start when the data incident is recorded.
    assert incident.data.aware_at is not None and incident.data.preliminary_due > incident.data.aware_at
    with pytest.raises(IncidentError, match="一般公開できません"):
        incident_publish(actor="a", incident=incident, visibility=Visibility.PUBLIC)
    # The database holds the rule too, whatever code path tries.
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(visibility=Visibility.PUBLIC)


@pytest.mark.django_db
def test_escalation_raises_impact_and_publishes_a_draft(tenants):
    incident = _incident(impact=Impact.MINOR)
    incident_escalate(actor="sentry", incident=incident, impact=Impact.MAJOR, message_ja="重大になりました。")
    incident.refresh_from_db()
    assert incident.impact == Impact.MAJOR and incident.visibility == Visibility.PUBLIC
    # Never lowers the impact.
    incident_escalate(actor="sentry", incident=incident, impact=Impact.MINOR, message_ja="x")
    incident.refresh_from_db()
    assert incident.impact == Impact.MAJOR


def test_two_staff_resolving_at_once_only_one_wins(tenants, committed):
    incident = _incident()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def resolve() -> None:
        try:
            barrier.wait()
            incident_update_post(
                actor="a",
                incident=Incident.objects.get(pk=incident.pk),
                state=State.RESOLVED,
                message_ja="解決",
            )
            outcomes.append("ok")
        except IncidentError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["ok", "refused"]
        assert incident.updates.filter(state=State.RESOLVED).count() == 1
    finally:
        StaffAuditEntry.objects.filter(target=f"Incident:{incident.pk}").delete()
        incident.delete()
