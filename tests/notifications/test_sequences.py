"""Step mails: triggers, delays, conditions, stop conditions, quiet hours, templates, tenant scoping."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_tenants.utils import schema_context

from notifications.errors import TemplateVariableError
from notifications.models import Enrollment, OutboxMessage
from notifications.services import (
    outbox_deliver_due,
    outbox_enqueue,
    sequence_due_scan,
    sequence_save,
    sequence_trigger,
    step_save,
    template_save,
)
from notifications.services.schedule import mail_settings_update
from notifications.services.templating import template_render
from tests.notifications.conftest import make_candidate

pytestmark = pytest.mark.django_db
JST = ZoneInfo("Asia/Tokyo")


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2027, 3, day, hour, minute, second, tzinfo=JST)


def make_sequence(*, trigger: str = "entry_imported", steps=({},), **options):
    template = template_save(
        name="案内",
        subject="{{ 姓 }}様 説明会のご案内",
        body="{{ 姓 }} {{ 名 }} 様\nマイページ: {{ マイページURL }}\n{{ 説明会名 }} {{ 日時 }}\n",
    )
    sequence = sequence_save(name="テスト", trigger=trigger, is_active=True, **options)
    made = [step_save(sequence=sequence, template=template, **step) for step in steps]
    return sequence, made


def entry(student, when: dt.datetime, occurrence: str = "import-1"):
    return sequence_trigger(
        event="entry_imported", candidate_id=student.id, occurred_at=when, context={"occurrence": occurrence}
    )


def test_unknown_variable_is_refused_and_values_are_never_interpreted(tenants):
    with schema_context(tenants["acme"].schema):
        with pytest.raises(TemplateVariableError, match="住所"):
            template_save(name="x", subject="ご案内", body="{{ 住所 }} にお越しください")
        with pytest.raises(TemplateVariableError):
            template_save(name="x", subject="{{ 姓.__class__ }}", body="本文")
        with pytest.raises(TemplateVariableError):
            template_save(name="x", subject="{{ request.user.password }}", body="本文")
        assert template_save(name="ok", subject="{{姓}}様", body="{{ マイページURL }}").id
    # A student named "{{ 名 }}" stays literally that: substitution is one pass, values are plain text.
    assert template_render("{{ 姓 }}/{{ 名 }}", {"姓": "{{ 名 }}", "名": "花子"}) == "{{ 名 }}/花子"


def test_entry_trigger_immediate_step_renders_and_sends_once(tenants, smtp_server, client):
    schema = tenants["acme"].schema
    with schema_context(schema), time_machine.travel(at(1, 10)):
        student = make_candidate(email="yamada@example.jp")
        make_sequence()
        entry(student, at(1, 10))
        entry(student, at(1, 10))  # the same import again: no second run
        assert Enrollment.objects.filter(candidate=student).count() == 1
        assert sum(sequence_due_scan().values()) == 1
        assert sum(sequence_due_scan().values()) == 0
        assert outbox_deliver_due(schema_name=schema).sent == 1
        row = OutboxMessage.objects.get(candidate=student)
    [message] = smtp_server.recorder.messages
    assert message["Subject"] == "山田様 説明会のご案内"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "山田 太郎 様" in body and "http://acme.localhost:8000/my/login/" in body
    assert message["List-Unsubscribe"].strip().startswith("<http://acme.localhost:8000/mail/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "配信停止はこちら: http://acme.localhost:8000/mail/unsubscribe/" in body
    # The My Page link in the mail signs the student in (booking's personal token).
    link = re.search(r"http://acme\.localhost:8000(/my/login/[^\s]+/)", body).group(1)
    response = client.post(link, HTTP_HOST=tenants["acme"].host)
    assert response.status_code == 302 and "/my/login/" not in response["Location"]
    # The history keeps what was sent, rendered, without the links that act for the student.
    assert row.subject == "山田様 説明会のご案内" and "山田 太郎 様" in row.body and not row.needs_render
    assert "/my/login/" not in row.body and "/mail/unsubscribe/" not in row.body


@pytest.mark.parametrize(
    ("step", "anchor", "not_yet", "due"),
    [
        ({"delay_days": 3, "send_at_time": dt.time(10, 0)}, at(1, 15), at(4, 9, 59), at(4, 10)),
        ({"delay_days": 0, "send_at_time": dt.time(10, 0)}, at(1, 15), at(1, 20), at(2, 10)),
        ({"delay_minutes": 90}, at(1, 10), at(1, 11, 29), at(1, 11, 30)),
    ],
)
def test_step_delays(tenants, step, anchor, not_yet, due):
    with schema_context(tenants["acme"].schema):
        mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=20)
        student = make_candidate()
        make_sequence(steps=(step,))
        with time_machine.travel(anchor):
            entry(student, anchor)
        assert sum(sequence_due_scan(now=not_yet).values()) == 0
        assert sum(sequence_due_scan(now=due).values()) == 1


def test_quiet_hours_hold_marketing_but_not_transactional(tenants, smtp_server):
    schema = tenants["acme"].schema
    with schema_context(schema):
        student = make_candidate()
        make_sequence()
        with time_machine.travel(at(1, 22), tick=False):
            entry(student, at(1, 22))
            sequence_due_scan()
            step_row = OutboxMessage.objects.get(sequence_step__isnull=False)
            assert step_row.next_attempt_at == at(2, 8)
            outbox_enqueue(
                key="confirm-1", to="taro@example.jp", subject="予約確認", body="b", kind="transactional"
            )
        with time_machine.travel(at(1, 20, 59), tick=False):
            early = outbox_enqueue(
                key="news-1", to="taro@example.jp", subject="お知らせ", body="b", kind="marketing"
            )
            assert early.next_attempt_at == at(1, 20, 59)
        with time_machine.travel(at(1, 22, 30), tick=False):
            report = outbox_deliver_due(schema_name=schema)
            assert report.sent == 1  # only the transactional confirmation
        assert [m["Subject"] for m in smtp_server.recorder.messages] == ["予約確認"]
        with time_machine.travel(at(2, 8, 0, 1), tick=False):
            assert outbox_deliver_due(schema_name=schema).sent == 2
        # A tenant's own window: 12:00–13:00.
        mail_settings_update(quiet_start=dt.time(12, 0), quiet_end=dt.time(13, 0), rate_per_second=20)
        with time_machine.travel(at(3, 12, 30), tick=False):
            noon = outbox_enqueue(
                key="news-2", to="taro@example.jp", subject="昼", body="b", kind="marketing"
            )
        assert noon.next_attempt_at == at(3, 13)


def test_step_conditions(tenants):
    with schema_context(tenants["acme"].schema):
        mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=20)
        match = make_candidate(email="match@example.jp")
        others = [
            make_candidate(email="rank@example.jp", rank="B"),
            make_candidate(email="year@example.jp", graduation_year=2028),
            make_candidate(email="status@example.jp", status="interview"),
            make_candidate(email="booked@example.jp"),
            make_candidate(email=""),
        ]
        make_sequence(
            steps=(
                {
                    "ranks": ["A"],
                    "graduation_years": [2027],
                    "statuses": ["entry"],
                    "require_not_booked": True,
                },
            )
        )
        sequence_trigger(event="seminar_booked", candidate_id=others[3].id, occurred_at=at(1, 9), context={})
        for student in [match, *others]:
            entry(student, at(1, 10))
        from notifications.models import SequenceStep
        from notifications.services.sequences import step_due_count

        step = SequenceStep.objects.select_related("sequence").get(sequence__name="テスト")
        assert step_due_count(step=step, sequence=step.sequence, now=at(1, 11)) == 1
        sequence_due_scan(now=at(1, 11))
        assert list(OutboxMessage.objects.values_list("to_address", flat=True)) == ["match@example.jp"]


def test_stop_conditions_booked_and_status(tenants):
    with schema_context(tenants["acme"].schema):
        mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=20)
        booker, dropper, keeper = (
            make_candidate(email=f"{n}@example.jp") for n in ("booker", "dropper", "keeper")
        )
        make_sequence(steps=({}, {"delay_days": 3}), stop_on_booked=True, stop_on_statuses=["辞退"])
        for student in (booker, dropper, keeper):
            entry(student, at(1, 10))
        assert sum(sequence_due_scan(now=at(1, 10, 1)).values()) == 3
        sequence_trigger(event="seminar_booked", candidate_id=booker.id, occurred_at=at(2, 10), context={})
        sequence_trigger(
            event="status_changed", candidate_id=dropper.id, occurred_at=at(2, 11), context={"status": "辞退"}
        )
        assert Enrollment.objects.get(candidate=booker).stop_reason == "説明会を予約"
        assert Enrollment.objects.get(candidate=dropper).stopped_at == at(2, 11)
        assert sum(sequence_due_scan(now=at(4, 10, 1)).values()) == 1
        second = OutboxMessage.objects.filter(sequence_step__position=2)
        assert list(second.values_list("to_address", flat=True)) == ["keeper@example.jp"]


def test_days_before_slot_and_booking_variables(tenants, smtp_server):
    schema = tenants["acme"].schema
    with schema_context(schema):
        mail_settings_update(quiet_start=dt.time(21, 0), quiet_end=dt.time(8, 0), rate_per_second=20)
        student = make_candidate()
        make_sequence(trigger="before_slot", days_before=1)
        sequence_trigger(
            event="seminar_booked",
            candidate_id=student.id,
            occurred_at=at(1, 10),
            context={
                "booking_id": 77,
                "slot_starts_at": at(10, 14).isoformat(),
                "seminar_name": "会社説明会A",
                "slot_text": "3月10日(水) 14:00",
            },
        )
        assert sum(sequence_due_scan(now=at(9, 13, 59)).values()) == 0
        assert sum(sequence_due_scan(now=at(9, 14)).values()) == 1
        with time_machine.travel(at(9, 14, 1)):
            assert outbox_deliver_due(schema_name=schema).sent == 1
    body = smtp_server.recorder.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "会社説明会A 3月10日(水) 14:00" in body


def test_status_changed_trigger_matches_its_status(tenants):
    with schema_context(tenants["acme"].schema):
        student = make_candidate()
        make_sequence(trigger="status_changed", trigger_status="一次面接")
        assert (
            sequence_trigger(
                event="status_changed",
                candidate_id=student.id,
                occurred_at=at(1, 10),
                context={"status": "書類選考"},
            )
            == []
        )
        assert (
            len(
                sequence_trigger(
                    event="status_changed",
                    candidate_id=student.id,
                    occurred_at=at(1, 11),
                    context={"status": "一次面接"},
                )
            )
            == 1
        )


def test_a_sequence_of_one_tenant_never_mails_students_of_another(tenants):
    acme, globex = tenants["acme"].schema, tenants["globex"].schema
    with schema_context(acme):
        make_sequence()
        acme_student = make_candidate(email="acme-student@example.jp")
    with schema_context(globex):
        globex_student = make_candidate(email="globex-student@example.jp")
        # An event in globex starts nothing: globex has no sequences.
        assert entry(globex_student, at(1, 10)) == []
        sequence_due_scan(now=at(1, 11))
        assert not OutboxMessage.objects.exists()
    with schema_context(acme):
        entry(acme_student, at(1, 10))
        sequence_due_scan(now=at(1, 11))
        assert list(OutboxMessage.objects.values_list("to_address", flat=True)) == ["acme-student@example.jp"]


def test_board_and_tag_conditions_and_merged_students(tenants):
    from candidates.models import Entry, Tag

    with schema_context(tenants["acme"].schema):
        mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=20)
        both = make_candidate(email="both@example.jp")
        board_only = make_candidate(email="board@example.jp")
        merged = make_candidate(email="merged@example.jp", merged_into=both)
        vip = Tag.objects.create(name="VIP")
        for number, student in enumerate((both, board_only, merged)):
            Entry.objects.create(
                board="マイナビ", dedupe_key=f"k{number}", row_hash=f"h{number}", candidate=student
            )
        both.tags.add(vip)
        merged.tags.add(vip)
        make_sequence(steps=({"boards": ["マイナビ"], "tags": ["VIP"]},))
        for student in (both, board_only, merged):
            entry(student, at(1, 10))
        sequence_due_scan(now=at(1, 11))
        assert list(OutboxMessage.objects.values_list("to_address", flat=True)) == ["both@example.jp"]


def test_import_batch_enrolls_set_based_and_once(tenants, django_assert_max_num_queries):
    from notifications.services import sequence_trigger_many

    with schema_context(tenants["acme"].schema):
        mail_settings_update(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), rate_per_second=20)
        students = [make_candidate(email=f"s{n}@example.jp") for n in range(30)]
        make_sequence()
        ids = [student.id for student in students]
        with django_assert_max_num_queries(6):
            added = sequence_trigger_many(
                event="entry_imported", candidate_ids=ids, occurred_at=at(1, 10), occurrence="job-9"
            )
        assert added == 30
        assert (
            sequence_trigger_many(
                event="entry_imported", candidate_ids=ids, occurred_at=at(1, 10), occurrence="job-9"
            )
            == 0
        )
        assert sum(sequence_due_scan(now=at(1, 11)).values()) == 30


def test_cancelled_booking_stops_its_reminders(tenants):
    with schema_context(tenants["acme"].schema):
        student = make_candidate()
        make_sequence(trigger="before_slot", days_before=1)
        sequence_trigger(
            event="seminar_booked",
            candidate_id=student.id,
            occurred_at=at(1, 10),
            context={"booking_id": 5, "slot_starts_at": at(10, 14)},  # a datetime is stored as ISO text
        )
        sequence_trigger(
            event="booking_cancelled",
            candidate_id=student.id,
            occurred_at=at(2, 10),
            context={"booking_id": 5},
        )
        assert Enrollment.objects.get(candidate=student).stop_reason == "予約を取り消し"
        assert sum(sequence_due_scan(now=at(9, 14)).values()) == 0


@pytest.mark.parametrize("event", ["attended", "no_show", "seminar_booked"])
def test_booking_outcome_triggers_start_only_their_sequences(tenants, event):
    with schema_context(tenants["acme"].schema):
        student = make_candidate()
        mine, _ = make_sequence(trigger=event)
        make_sequence(trigger="attended" if event != "attended" else "no_show")
        enrolled = sequence_trigger(
            event=event, candidate_id=student.id, occurred_at=at(1, 10), context={"booking_id": 3}
        )
        assert [enrollment.sequence_id for enrollment in enrolled] == [mine.id]
        assert sum(sequence_due_scan(now=at(1, 10, 1)).values()) == 1
