"""The rush path's winners note their students' dashboard facts in their write; the confirmations worker
refreshes them (dashboard migration 0003). Every other booking refreshes in its own transaction."""

# ruff: noqa: F811 - the fixtures are imported from tests/booking/test_rush_persist.py
from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from booking.rush.persist import Winner, persist_batch, persist_together
from tests.booking.conftest import candidate_make
from tests.booking.test_rush_persist import _codes, _winners, rush_seminar, two_companies  # noqa: F401


def _facts(schema: str, winners: list[Winner]) -> tuple[list[bool], int]:
    """The winners' dashboard facts (booked or not, in their order) and how many students are noted stale."""
    ids = [w.plan.student.candidate_id for w in winners]
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT candidate_id, booked FROM dashboard_fact WHERE candidate_id = ANY(%s)", [ids])
        booked = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM dashboard_fact_stale WHERE candidate_id = ANY(%s)", [ids])
        return [booked.get(i) for i in ids], cursor.fetchone()[0]


def test_winners_facts_are_noted_in_the_write_and_refreshed_by_the_confirmations_worker(two_companies):
    """The winners' transaction notes their students' dashboard facts instead of refreshing them (most of
    PostgreSQL's work at a fleet-wide opening); the worker that queues their confirmations refreshes them."""
    from booking.services.confirmations import confirmations_drain

    acme, seminar, globex, other = two_companies
    acme_winners, globex_winners = _winners(acme, seminar, 2), _winners(globex, other, 1)
    together = persist_together([(acme.tenant, acme_winners), (globex.tenant, globex_winners)])
    alone = persist_batch(acme.tenant, _winners(acme, seminar, 1))
    assert [_codes(answers) for answers in together] == [["booked"] * 2, ["booked"]]
    assert _codes(alone) == ["booked"]
    assert _facts(acme.schema, acme_winners) == ([False, False], 2)
    assert _facts(globex.schema, globex_winners) == ([False], 1)
    assert confirmations_drain() >= 4
    assert _facts(acme.schema, acme_winners) == ([True, True], 0)
    assert _facts(globex.schema, globex_winners) == ([True], 0)
    connection.set_schema_to_public()


def test_a_booking_on_the_my_page_form_refreshes_its_facts_at_once(rush_seminar):
    """Only the rush path's winners' writes note facts for later: every other write refreshes them in its
    own transaction, as before."""
    from booking.services import booking_create

    acme, seminar = rush_seminar
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        booking_create(candidate=student, slot_id=seminar.slots.first().pk)
        with connection.cursor() as cursor:
            cursor.execute("SELECT booked FROM dashboard_fact WHERE candidate_id = %s", [student.pk])
            assert cursor.fetchone() == (True,)
            cursor.execute("SELECT count(*) FROM dashboard_fact_stale")
            assert cursor.fetchone() == (0,)
    connection.set_schema_to_public()
