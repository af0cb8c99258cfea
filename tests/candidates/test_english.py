"""The candidate list and a candidate's page read in English when the browser asks for English."""

from __future__ import annotations

from candidates.models import SelectionStep
from tests.english import english_get, japanese_left
from tests.factories import CandidateFactory


def test_the_list_and_a_candidate_in_english(acme, admin_client):
    student = CandidateFactory(
        family_name="佐藤", given_name="花子", university_raw="東京大学", university="東京大学"
    )
    steps = tuple(SelectionStep.objects.values_list("label", flat=True))
    data = ("佐藤", "花子", "ヤマダ", "タロウ", "東京大学", student.season.name, *steps)
    html = english_get(admin_client, "/candidates/", host=acme.host).content.decode()
    assert "<h1>Candidates" in html and "Search (name, kana, e-mail, university)" in html
    assert "Newest first" in html and "Bulk actions on these students" in html and "Page 1 of 1" in html
    assert japanese_left(html, data=data) == []
    page = english_get(admin_client, f"/candidates/{student.pk}/", host=acme.host).content.decode()
    assert "Date of birth" in page and "Set the rank by hand" in page and "No notes." in page
    assert japanese_left(page, data=data) == []
