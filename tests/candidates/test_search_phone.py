"""The candidate search finds a student by phone number, however it is typed (全角/半角 digits, hyphens, +81)."""

from __future__ import annotations

import pytest

from candidates.selectors import CandidateFilters, candidate_list
from tests.factories import CandidateFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    [
        "09012345678",
        "090-1234-5678",
        "０９０－１２３４－５６７８",
        "090 1234 5678",
        "090‐1234‐5678",
        "+81 90-1234-5678",
        "5678",
        "１２３４－５６７８",
    ],
)
def test_a_student_is_found_by_phone_number(acme, query):
    student = CandidateFactory(phone="09012345678", email="hanako.phone@example.jp")
    other = CandidateFactory(phone="08098765432", email="taro.phone@example.jp")
    found = list(candidate_list(filters=CandidateFilters(q=query)))
    assert student in found and other not in found


def test_e_mail_search_still_works_and_digits_in_addresses_too(acme):
    student = CandidateFactory(phone="09012345678", email="hanako2027@example.jp")
    assert list(candidate_list(filters=CandidateFilters(q="hanako2027@example"))) == [student]
    assert student in candidate_list(filters=CandidateFilters(q="2027"))
