"""Selection services: the flow and its forms, evaluations recorded with who and when, what a pass triggers."""

from __future__ import annotations

import pytest

from selection.errors import EvaluationNotAllowed, SelectionError
from selection.models import Evaluation
from selection.selectors import evaluation_allowed, round_next
from selection.services import criterion_add, evaluation_save, round_create, round_move
from tests.selection.conftest import interview_booked, later_today, person, status_sequence, student


def answers(flow, logic="4", motivation="高"):
    logic_row, motivation_row = flow["criteria"]
    return {str(logic_row.pk): logic, str(motivation_row.pk): motivation}


def test_rounds_follow_in_order_and_a_round_without_a_step_gets_its_own(flow):
    first, second, offer = flow["rounds"]
    assert [first.position, second.position, offer.position] == [0, 1, 2]
    assert second.step_key.startswith("round-")
    from candidates.models import SelectionStep

    assert SelectionStep.objects.get(key=second.step_key).label == "二次面接"
    assert round_next(current=first) == second
    round_move(round=offer, direction="up")
    assert round_next(current=first).name == "内定"
    second.refresh_from_db()
    assert round_next(current=second) is None


def test_a_round_refuses_another_seasons_interview_and_a_second_round_on_one_step(flow):
    from seasons.models import Season

    other = Season.objects.get_or_create(graduation_year=2028)[0]
    with pytest.raises(SelectionError, match="この年度の面接"):
        round_create(season=other, name="一次面接", interview_type=flow["types"][0])
    with pytest.raises(SelectionError, match="すでにあります"):
        round_create(season=flow["season"], name="もう一つ", step_key="interview")


def test_choice_criteria_need_two_to_ten_answers(flow):
    first = flow["rounds"][0]
    with pytest.raises(SelectionError, match="選択肢は2"):
        criterion_add(round=first, label="印象", kind="choice", choices_text="良い")
    assert criterion_add(
        round=first, label="印象", kind="choice", choices_text="良い、普通\n悪い"
    ).choices == [
        "良い",
        "普通",
        "悪い",
    ]


@pytest.mark.parametrize(
    ("logic", "motivation", "message"),
    [("", "高", "論理性"), ("6", "高", "1〜5"), ("3", "とても高い", "選択肢から")],
)
def test_the_form_refuses_a_missing_or_out_of_range_answer(flow, logic, motivation, message):
    recruiter = person("recruiter")
    with pytest.raises(SelectionError, match=message):
        evaluation_save(
            round=flow["rounds"][0],
            candidate=student(),
            user=recruiter,
            decision="hold",
            scores=answers(flow, logic, motivation),
        )
    assert not Evaluation.objects.exists()


def test_an_evaluation_records_who_and_when_and_a_correction_replaces_it(flow):
    recruiter, candidate = person("recruiter"), student()
    first = flow["rounds"][0]
    held = evaluation_save(
        round=first,
        candidate=candidate,
        user=recruiter,
        decision="hold",
        scores=answers(flow),
        comment="再考",
    )
    assert (held.evaluator, held.evaluator_name, held.decision) == (recruiter, recruiter.email, "hold")
    assert held.decided_at is not None and held.scores == {
        str(flow["criteria"][0].pk): 4,
        str(flow["criteria"][1].pk): "高",
    }
    corrected = evaluation_save(
        round=first, candidate=candidate, user=recruiter, decision="fail", scores=answers(flow)
    )
    assert corrected.pk == held.pk and Evaluation.objects.get().decision == "fail"
    candidate.refresh_from_db()
    assert candidate.status == "interview"  # a hold or a fail moves nobody
    assert candidate.events.filter(kind="evaluation").count() == 2


def test_a_pass_moves_to_the_next_round_invites_to_book_and_starts_the_step_mails(
    flow, django_capture_on_commit_callbacks
):
    from notifications.models import Enrollment, OutboxMessage

    first, second, _offer = flow["rounds"]
    sequence = status_sequence(season=flow["season"], status=second.step_key)
    candidate, recruiter = student(email="pass@example.jp"), person("recruiter")
    with django_capture_on_commit_callbacks(execute=True):
        evaluation_save(
            round=first, candidate=candidate, user=recruiter, decision="pass", scores=answers(flow)
        )
    candidate.refresh_from_db()
    assert candidate.status == second.step_key
    invitation = OutboxMessage.objects.get(idempotency_key=f"round-invite:{second.pk}:{candidate.pk}")
    assert invitation.to_address == "pass@example.jp" and invitation.needs_render
    assert "二次面接" in invitation.subject and "{{ マイページURL }}" in invitation.body
    assert Enrollment.objects.filter(sequence=sequence, candidate=candidate).count() == 1
    # The next round's interview is now the one the student may book on the My Page.
    from booking.selectors import interview_types_for_candidate

    assert list(interview_types_for_candidate(candidate=candidate)) == [flow["types"][1]]


def test_a_second_pass_moves_nobody_twice(flow):
    first, second, _offer = flow["rounds"]
    candidate = student()
    evaluation_save(
        round=first, candidate=candidate, user=person("recruiter"), decision="pass", scores=answers(flow)
    )
    evaluation_save(
        round=first, candidate=candidate, user=person("admin"), decision="pass", scores=answers(flow)
    )
    candidate.refresh_from_db()
    assert candidate.status == second.step_key
    assert candidate.events.filter(kind="status").count() == 1


def test_who_may_evaluate(flow):
    first = flow["rounds"][0]
    mine, theirs = student(), student()
    interviewer, other_interviewer = flow["interviewer"], person("interviewer")
    interview_booked(
        candidate=mine, interview_type=flow["types"][0], interviewer=interviewer, starts_at=later_today(30)
    )
    assert evaluation_allowed(user=interviewer, round=first, candidate=mine)
    assert not evaluation_allowed(user=interviewer, round=first, candidate=theirs)
    assert not evaluation_allowed(user=other_interviewer, round=first, candidate=mine)
    assert not evaluation_allowed(user=person("viewer"), round=first, candidate=mine)
    assert evaluation_allowed(user=person("recruiter"), round=first, candidate=theirs)
    with pytest.raises(EvaluationNotAllowed):
        evaluation_save(
            round=first, candidate=theirs, user=interviewer, decision="pass", scores=answers(flow)
        )
    # Named evaluators: only they (and admins) evaluate the round.
    named = person("recruiter")
    first.evaluators.set([named])
    assert evaluation_allowed(user=named, round=first, candidate=theirs)
    assert not evaluation_allowed(user=person("recruiter"), round=first, candidate=theirs)
    assert not evaluation_allowed(user=interviewer, round=first, candidate=mine)
    # A student of another season is in none of this season's rounds.
    from seasons.models import Season

    other = student(graduation_year=2028)
    other.refresh_from_db()
    assert other.season_id == Season.objects.get(graduation_year=2028).pk
    assert not evaluation_allowed(user=named, round=first, candidate=other)


def test_disclosure_and_erasure_reach_the_evaluations(flow):
    from candidates.services.privacy_data import student_data_collect

    candidate = student()
    evaluation_save(
        round=flow["rounds"][0],
        candidate=candidate,
        user=person("recruiter"),
        decision="hold",
        scores=answers(flow),
        comment="落ち着いた話し方",
    )
    rows = student_data_collect(candidate_id=candidate.pk)["evaluations"]
    assert rows[0]["comment"] == "落ち着いた話し方" and rows[0]["answers"] == {"論理性": 4, "志望度": "高"}
    from selection.personal_data import evaluations_erase

    assert evaluations_erase([candidate.pk], keep_statistics=True) == 1
    kept = Evaluation.objects.get(candidate=candidate)
    assert (kept.decision, kept.comment, kept.scores) == ("hold", "", {})
