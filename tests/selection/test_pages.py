"""Selection pages end to end on acme's host: the flow, 今日の面接, the evaluation form, the candidate's panel."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from candidates.models import AuditEntry
from selection.models import Evaluation, Round
from tests.selection.conftest import interview_booked, later_today, student


def signed_in(acme, user) -> Client:
    client = Client(HTTP_HOST=acme.host)
    client.force_login(user)
    return client


def form_answers(flow, decision="pass"):
    logic, motivation = flow["criteria"]
    return {
        f"score_{logic.pk}": "5",
        f"score_{motivation.pk}": "中",
        "decision": decision,
        "comment": "論理的",
    }


def test_a_recruiter_defines_the_flow_and_a_viewer_only_reads_it(acme, flow, make_user):
    recruiter_client, _recruiter = make_user("recruiter")
    created = recruiter_client.post(
        "/selection/rounds/", {"name": "最終面接", "step_key": "", "pass_invites": "on"}, follow=True
    )
    assert "「最終面接」を追加しました" in created.content.decode()
    final = Round.objects.get(name="最終面接")
    recruiter_client.post(f"/selection/rounds/{final.pk}/", {"label": "総合", "kind": "scale"})
    assert [item.label for item in final.criteria.all()] == ["総合"]
    viewer_client, _viewer = make_user("viewer")
    page = viewer_client.get("/selection/rounds/").content.decode()
    assert "最終面接" in page and "選考を追加" not in page
    assert viewer_client.post("/selection/rounds/", {"name": "勝手な選考"}).status_code == 403
    assert (
        viewer_client.post(f"/selection/rounds/{final.pk}/", {"label": "x", "kind": "scale"}).status_code
        == 403
    )
    assert not Round.objects.filter(name="勝手な選考").exists()


def test_an_interviewer_sees_only_their_interviews_today_and_evaluates_on_a_phone(acme, flow):
    first, second, _offer = flow["rounds"]
    interviewer = flow["interviewer"]
    mine = student(family_name="佐藤", email="sato@example.jp")
    tomorrow = student(family_name="鈴木")
    theirs = student(family_name="高橋")
    interview_booked(
        candidate=mine, interview_type=flow["types"][0], interviewer=interviewer, starts_at=later_today(30)
    )
    interview_booked(
        candidate=tomorrow,
        interview_type=flow["types"][0],
        interviewer=interviewer,
        starts_at=timezone.now() + timedelta(days=2),
    )
    from tests.selection.conftest import person

    other = person("interviewer")
    interview_booked(
        candidate=theirs, interview_type=flow["types"][0], interviewer=other, starts_at=later_today(45)
    )
    client = signed_in(acme, interviewer)
    today = client.get("/selection/today/", HTTP_USER_AGENT="Mozilla/5.0 (iPhone)").content.decode()
    assert "佐藤" in today and "鈴木" not in today and "高橋" not in today
    assert 'name="viewport"' in today
    form = client.get(f"/selection/rounds/{first.pk}/candidates/{mine.pk}/")
    assert form.status_code == 200 and 'name="decision"' in form.content.decode()
    assert AuditEntry.objects.filter(action="detail", candidate_ids=[mine.pk], user=interviewer).exists()
    # Another interviewer's student: not found, whether read or written; nothing saved.
    assert client.get(f"/selection/rounds/{first.pk}/candidates/{theirs.pk}/").status_code == 404
    assert (
        client.post(f"/selection/rounds/{first.pk}/candidates/{theirs.pk}/", form_answers(flow)).status_code
        == 404
    )
    # Nor the workspace's candidate pages.
    assert client.get(f"/candidates/{mine.pk}/").status_code == 403
    saved = client.post(f"/selection/rounds/{first.pk}/candidates/{mine.pk}/", form_answers(flow))
    assert saved.status_code == 302 and saved["Location"] == "/selection/today/"
    evaluation = Evaluation.objects.get(candidate=mine)
    assert (evaluation.evaluator, evaluation.decision, evaluation.comment) == (interviewer, "pass", "論理的")
    mine.refresh_from_db()
    assert mine.status == second.step_key
    assert not Evaluation.objects.filter(candidate=theirs).exists()
    assert "評価を見直す" in client.get("/selection/today/").content.decode()


def test_a_bad_answer_is_refused_with_a_message_and_nothing_saved(acme, flow, make_user):
    client, _user = make_user("recruiter")
    candidate = student()
    posted = form_answers(flow)
    posted[f"score_{flow['criteria'][0].pk}"] = "9"
    answer = client.post(f"/selection/rounds/{flow['rounds'][0].pk}/candidates/{candidate.pk}/", posted)
    assert answer.status_code == 400 and "1〜5で評価してください" in answer.content.decode()
    assert not Evaluation.objects.exists()


def test_the_candidate_page_shows_every_rounds_evaluations_side_by_side_and_viewers_only_read(
    acme, flow, make_user
):
    from selection.services import evaluation_save

    first, second, _offer = flow["rounds"]
    candidate = student()
    recruiter_client, recruiter = make_user("recruiter")
    logic, motivation = flow["criteria"]
    evaluation_save(
        round=first,
        candidate=candidate,
        user=recruiter,
        decision="pass",
        scores={str(logic.pk): "3", str(motivation.pk): "低"},
        comment="伸びしろあり",
    )
    candidate.refresh_from_db()
    evaluation_save(
        round=second, candidate=candidate, user=recruiter, decision="hold", scores={}, comment="保留中"
    )
    page = recruiter_client.get(f"/candidates/{candidate.pk}/").content.decode()
    panel = page[page.index('id="evaluations"') :]
    assert (
        panel.index("一次面接")
        < panel.index("伸びしろあり")
        < panel.index("二次面接")
        < panel.index("保留中")
    )
    assert "志望度: 低" in panel and "合格" in panel and "保留" in panel and recruiter.email in panel
    viewer_client, _viewer = make_user("viewer")
    read = viewer_client.get(f"/candidates/{candidate.pk}/").content.decode()
    assert "伸びしろあり" in read and f"/selection/rounds/{first.pk}/candidates/" not in read
    form = viewer_client.get(f"/selection/rounds/{second.pk}/candidates/{candidate.pk}/").content.decode()
    assert 'name="decision"' not in form and "閲覧のみ" in form
    refused = viewer_client.post(
        f"/selection/rounds/{second.pk}/candidates/{candidate.pk}/", form_answers(flow)
    )
    assert refused.status_code == 403
    assert Evaluation.objects.filter(candidate=candidate).count() == 2


def test_an_interviewer_signs_in_with_the_login_form(acme, flow):
    from tests.factories import UserFactory

    UserFactory(email="signin-interviewer@acme.example.jp", role="interviewer", password="pw-1234567890")
    client = Client(HTTP_HOST=acme.host)
    answer = client.post(
        "/login/?next=/selection/today/",
        {"username": "signin-interviewer@acme.example.jp", "password": "pw-1234567890"},
    )
    assert answer.status_code == 302 and answer["Location"] == "/selection/today/"
    assert client.get("/selection/today/").status_code == 200
