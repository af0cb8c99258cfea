"""Per-company budgets on the rush path: one company's flood is refused at once, another's bookings go on."""

# ruff: noqa: F811 - the rush fixture is imported from tests/booking/test_rush.py
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from booking.models import Booking, Seminar
from booking.rush import budgets
from booking.rush.budgets import Budget
from booking.rush.state import seminar_state_forget
from tests.booking.conftest import candidate_make, rush_seminar_remove, seminar_make
from tests.booking.test_rush import book, rush, student_client  # noqa: F401


@pytest.fixture
def globex_seminar(tenants, django_db_blocker):
    globex = tenants["globex"]
    with schema_context(globex.schema):
        seminar = seminar_make(quotas={"A": 5}, capacity=5)
        Seminar.objects.filter(pk=seminar.pk).update(waiting_room="off")
    seminar_state_forget()
    yield seminar
    rush_seminar_remove(schema=globex.schema, seminar=seminar)


def test_one_companys_flood_is_refused_while_another_company_books(
    rush, acme_schema, tenants, globex_seminar, monkeypatch
):
    globex = tenants["globex"]
    monkeypatch.setattr(budgets, "admission", Budget(3))
    # acme's flood: three requests being decided in this process already (its whole budget).
    for _ in range(3):
        assert budgets.admission.enter(acme_schema.schema)
    refused = book(student_client(acme_schema, candidate_make(rank="A")), rush, rush.slots.first())
    assert refused.status_code == 503 and refused.json()["code"] == "busy"
    assert refused["Retry-After"] == "2" and "混み合って" in refused.json()["message"]
    assert not Booking.objects.filter(seminar=rush).exists()
    # globex is untouched by acme's flood.
    with schema_context(globex.schema):
        student = candidate_make(rank="A")
        slot = globex_seminar.slots.first()
    connection.set_schema_to_public()
    answer = book(student_client(globex, student), globex_seminar, slot)
    assert answer.json()["code"] == "booked"
    # Once acme's requests are answered, acme books again.
    for _ in range(3):
        budgets.admission.leave(acme_schema.schema)
    with schema_context(acme_schema.schema):
        again = book(student_client(acme_schema, candidate_make(rank="A")), rush, rush.slots.first())
    assert again.json()["code"] == "booked"


def test_the_budget_holds_under_concurrent_entries():
    budget = Budget(5)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: budget.enter("t_flood"), range(200)))
    assert results.count(True) == 5
    assert budget.enter("t_quiet")  # another company has its own budget
    with budget.held("t_flood") as within:
        assert not within
    for _ in range(5):
        budget.leave("t_flood")
    with budget.held("t_flood") as within:
        assert within
    assert budget.used == {"t_quiet": 1}


def test_a_company_alone_borrows_beyond_its_share_but_leaves_one_share_free():
    budget = Budget(3, capacity=10)
    # Alone, acme may hold up to capacity - share = 7, then one share stays free for whoever comes next.
    taken = [budget.enter("t_acme") for _ in range(12)]
    assert taken.count(True) == 7
    assert budget.total == 7
    # globex arrives: its own share is granted whatever acme holds.
    assert all(budget.enter("t_globex") for _ in range(3))
    # Beyond its share, globex may not borrow while the process is full.
    assert not budget.enter("t_globex")
    # acme's requests are answered: globex may borrow again.
    for _ in range(7):
        budget.leave("t_acme")
    assert budget.enter("t_globex")
    assert budget.used == {"t_globex": 4} and budget.total == 4
    # A leave without an enter changes nothing.
    budget.leave("t_nobody")
    assert budget.total == 4
