"""Winners written together: one transaction when it fits, one by one with the usual answers when not."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from booking.models import Booking, BookingStatus, SlotQuota
from booking.rush.decide import BookPlan
from booking.rush.gate import Gate
from booking.rush.passes import StudentPass
from booking.rush.persist import Winner, WinnerBatcher, persist_batch, persist_together
from booking.rush.state import seminar_state, seminar_state_forget
from tests.booking.conftest import candidate_make, rush_seminar_remove, seminar_make


@pytest.fixture
def rush_seminar(tenants, committed):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 3}, capacity=3)
    seminar_state_forget()
    yield acme, seminar
    rush_seminar_remove(schema=acme.schema, seminar=seminar)
    seminar_state_forget()


def _winners(acme, seminar, count: int, *, quota_id=None) -> list[Winner]:
    with schema_context(acme.schema):
        state = seminar_state(schema=acme.schema, seminar_id=seminar.pk)
        slot = next(iter(state.slots.values()))
        quota = quota_id or slot.quotas["A"]
        winners = []
        for _ in range(count):
            student = candidate_make(rank="A")
            plan = BookPlan(
                state=state,
                student=StudentPass(
                    candidate_id=student.pk,
                    rank="A",
                    issued_at=0,
                    season_id=student.season_id,
                    offer_holder=False,
                ),
                slot_id=slot.slot_id,
                quota_ids=[quota],
                others=[],
                has_room_pass=False,
            )
            winners.append(
                Winner(gate=Gate(schema=acme.schema, seminar_id=seminar.pk), plan=plan, quota_id=quota)
            )
    return winners


def _codes(outcomes) -> list[str]:
    return [outcome.payload()["code"] for outcome in outcomes]


def _rows(acme, seminar) -> tuple[int, int]:
    with schema_context(acme.schema):
        taken = SlotQuota.objects.get(slot__seminar=seminar, rank="A").taken
        active = Booking.objects.filter(seminar=seminar, status=BookingStatus.ACTIVE).count()
    return taken, active


def test_a_batch_that_fits_is_one_transaction_and_every_winner_is_booked(rush_seminar):
    acme, seminar = rush_seminar
    winners = _winners(acme, seminar, 3)
    answers = persist_batch(acme.tenant, winners)
    assert _codes(answers) == ["booked", "booked", "booked"]
    ids = {outcome.payload()["booking"] for outcome in answers}
    assert len(ids) == 3
    assert _rows(acme, seminar) == (3, 3)
    connection.set_schema_to_public()


def test_a_batch_larger_than_the_seats_falls_back_one_by_one(rush_seminar):
    acme, seminar = rush_seminar
    # Redis was behind: four winners for three seats. The batch is refused as a whole, then the
    # one-by-one path books three and answers "full" to the last.
    answers = persist_batch(acme.tenant, _winners(acme, seminar, 4))
    assert sorted(_codes(answers)) == ["booked", "booked", "booked", "full"]
    assert _rows(acme, seminar) == (3, 3)
    connection.set_schema_to_public()


def test_a_student_already_booked_does_not_cost_the_others_their_seat(rush_seminar):
    acme, seminar = rush_seminar
    first = _winners(acme, seminar, 1)
    assert _codes(persist_batch(acme.tenant, first)) == ["booked"]
    again = Winner(gate=first[0].gate, plan=first[0].plan, quota_id=first[0].quota_id)
    answers = persist_batch(acme.tenant, [*_winners(acme, seminar, 1), again])
    assert _codes(answers) == ["booked", "already_booked"]
    assert _rows(acme, seminar) == (2, 2)
    connection.set_schema_to_public()


def test_winners_of_the_same_moment_share_a_batch(rush_seminar):
    acme, seminar = rush_seminar
    winners = _winners(acme, seminar, 3)
    calls = []

    def counting(tenant, batch):
        calls.append(len(batch))
        return persist_batch(tenant, batch)

    async def run():
        import booking.rush.persist as module

        original = module.persist_batch
        module.persist_batch = counting
        try:
            batcher = WinnerBatcher(ThreadPoolExecutor(max_workers=2), wait=0.05)
            return await asyncio.gather(*(batcher.persist(acme.tenant, w) for w in winners))
        finally:
            module.persist_batch = original

    answers = asyncio.run(run())
    assert _codes(answers) == ["booked", "booked", "booked"]
    assert calls == [3]
    assert _rows(acme, seminar) == (3, 3)
    connection.set_schema_to_public()


def test_winners_arriving_while_a_batch_is_written_wait_for_the_next_one(rush_seminar):
    acme, seminar = rush_seminar
    winners = _winners(acme, seminar, 3)
    calls = []
    release = threading.Event()

    def slow(tenant, batch):
        calls.append(len(batch))
        if len(calls) == 1:
            release.wait(10)
        return persist_batch(tenant, batch)

    async def run():
        import booking.rush.persist as module

        original = module.persist_batch
        module.persist_batch = slow
        try:
            batcher = WinnerBatcher(ThreadPoolExecutor(max_workers=4), wait=0.01, in_flight=1)
            first = asyncio.ensure_future(batcher.persist(acme.tenant, winners[0]))
            await asyncio.sleep(0.1)  # the first batch is being written (and held)
            rest = [asyncio.ensure_future(batcher.persist(acme.tenant, w)) for w in winners[1:]]
            await asyncio.sleep(0.1)
            assert calls == [1]  # the others wait although threads are free
            release.set()
            return await asyncio.gather(first, *rest)
        finally:
            module.persist_batch = original

    answers = asyncio.run(run())
    assert _codes(answers) == ["booked"] * 3
    assert calls == [1, 2]
    assert _rows(acme, seminar) == (3, 3)
    connection.set_schema_to_public()


@pytest.fixture
def two_companies(rush_seminar, tenants):
    acme, seminar = rush_seminar
    globex = tenants["globex"]
    with schema_context(globex.schema):
        other = seminar_make(quotas={"A": 3}, capacity=3)
    yield acme, seminar, globex, other
    rush_seminar_remove(schema=globex.schema, seminar=other)
    connection.set_schema_to_public()


def _batched(writer, winners_by_company: list) -> list:
    """The winners handed to one WinnerBatcher at the same moment, written through `writer` (which calls
    persist_together); their answers in the order given."""

    async def run():
        import booking.rush.persist as module

        original = module.persist_together
        module.persist_together = writer
        try:
            batcher = WinnerBatcher(ThreadPoolExecutor(max_workers=2), wait=0.05)
            futures = [batcher.persist(tenant, w) for tenant, winners in winners_by_company for w in winners]
            return await asyncio.gather(*futures)
        finally:
            module.persist_together = original

    return asyncio.run(run())


def test_winners_of_several_companies_share_one_batch_each_in_its_own_schema(two_companies):
    acme, seminar, globex, other = two_companies
    acme_winners, globex_winners = _winners(acme, seminar, 2), _winners(globex, other, 3)
    calls = []

    def counting(batches, **options):
        calls.append([(tenant.schema_name, len(winners)) for tenant, winners in batches])
        return persist_together(batches, **options)

    answers = _batched(counting, [(acme.tenant, acme_winners), (globex.tenant, globex_winners)])
    assert _codes(answers) == ["booked"] * 5
    assert calls == [[(acme.schema, 2), (globex.schema, 3)]]
    assert _rows(acme, seminar) == (2, 2) and _rows(globex, other) == (3, 3)
    with schema_context(globex.schema):
        candidates = set(Booking.objects.filter(seminar=other).values_list("candidate_id", flat=True))
    assert candidates == {w.plan.student.candidate_id for w in globex_winners}


class RowHolder(threading.Thread):
    """Another transaction (another process's batch) holding a company's quota rows until released."""

    def __init__(self, schema: str, seminar) -> None:
        super().__init__(daemon=True)
        self.schema, self.seminar = schema, seminar
        self.locked, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            with schema_context(self.schema), transaction.atomic():
                list(SlotQuota.objects.select_for_update().filter(slot__seminar=self.seminar))
                self.locked.set()
                self.release.wait(20)
        finally:
            connection.close()


def test_a_company_another_batch_is_writing_is_skipped_not_waited_for(two_companies):
    acme, seminar, globex, other = two_companies
    holder = RowHolder(globex.schema, other)
    holder.start()
    try:
        assert holder.locked.wait(10)
        started = time.monotonic()
        answers = persist_together(
            [(acme.tenant, _winners(acme, seminar, 2)), (globex.tenant, _winners(globex, other, 2))],
            may_skip=frozenset({acme.schema, globex.schema}),
        )
        took = time.monotonic() - started
    finally:
        holder.release.set()
        holder.join(10)
    assert _codes(answers[0]) == ["booked", "booked"] and answers[1] is None
    assert took < 2.0  # not the 20 s the other transaction would have held it
    assert _rows(acme, seminar) == (2, 2) and _rows(globex, other) == (0, 0)


def test_a_skipped_company_is_waited_for_in_the_next_batch_and_every_winner_is_booked(two_companies):
    acme, seminar, globex, other = two_companies
    acme_winners, globex_winners = _winners(acme, seminar, 2), _winners(globex, other, 3)
    holder = RowHolder(globex.schema, other)
    holder.start()
    assert holder.locked.wait(10)
    calls = []

    def counting(batches, **options):
        calls.append(([(t.schema_name, len(w)) for t, w in batches], sorted(options["may_skip"])))
        if len(calls) == 2:
            threading.Timer(0.3, holder.release.set).start()  # the other batch commits meanwhile
        return persist_together(batches, **options)

    try:
        answers = _batched(counting, [(acme.tenant, acme_winners), (globex.tenant, globex_winners)])
    finally:
        holder.release.set()
        holder.join(10)
    assert _codes(answers) == ["booked"] * 5
    # First both companies, globex skippable and skipped; then globex alone, waited for.
    assert calls[0] == ([(acme.schema, 2), (globex.schema, 3)], sorted([acme.schema, globex.schema]))
    assert calls[1] == ([(globex.schema, 3)], [])
    assert _rows(acme, seminar) == (2, 2) and _rows(globex, other) == (3, 3)


def test_one_company_that_does_not_fit_costs_the_others_nothing(two_companies):
    acme, seminar, globex, other = two_companies
    # Redis was behind for acme: four winners for three seats. The batch of both companies is rolled back,
    # each company's winners are written on their own: acme's three booked and one full, globex's booked.
    answers = persist_together(
        [(acme.tenant, _winners(acme, seminar, 4)), (globex.tenant, _winners(globex, other, 2))]
    )
    assert sorted(_codes(answers[0])) == ["booked", "booked", "booked", "full"]
    assert _codes(answers[1]) == ["booked", "booked"]
    assert _rows(acme, seminar) == (3, 3) and _rows(globex, other) == (2, 2)


def test_a_second_booking_in_one_company_costs_the_others_nothing(two_companies):
    """globex's part of the transaction fails (a student booked already): the whole is rolled back and
    each company's winners are written on their own, with their exact answers."""
    acme, seminar, globex, other = two_companies
    first = _winners(globex, other, 1)
    assert _codes(persist_batch(globex.tenant, first)) == ["booked"]
    again = Winner(gate=first[0].gate, plan=first[0].plan, quota_id=first[0].quota_id)
    answers = persist_together(
        [(globex.tenant, [*_winners(globex, other, 1), again]), (acme.tenant, _winners(acme, seminar, 2))]
    )
    assert _codes(answers[0]) == ["booked", "already_booked"]
    assert _codes(answers[1]) == ["booked", "booked"]
    assert _rows(acme, seminar) == (2, 2) and _rows(globex, other) == (2, 2)


def test_concurrent_batches_over_the_same_rows_all_go_through_whole(tenants, committed, caplog):
    """Batches touching several quota rows, from several threads at once: every winner is booked."""
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 40}, capacity=40, slots=3)
    seminar_state_forget()
    try:
        with schema_context(acme.schema):
            state = seminar_state(schema=acme.schema, seminar_id=seminar.pk)
            slots = list(state.slots.values())
            batches = []
            for index in range(8):
                batch = []
                # Each batch names the slots in another order.
                for slot in slots[index % 3 :] + slots[: index % 3]:
                    for _ in range(4):
                        student = candidate_make(rank="A")
                        plan = BookPlan(
                            state=state,
                            student=StudentPass(
                                candidate_id=student.pk,
                                rank="A",
                                issued_at=0,
                                season_id=student.season_id,
                                offer_holder=False,
                            ),
                            slot_id=slot.slot_id,
                            quota_ids=[slot.quotas["A"]],
                            others=[],
                            has_room_pass=False,
                        )
                        batch.append(
                            Winner(
                                gate=Gate(schema=acme.schema, seminar_id=seminar.pk),
                                plan=plan,
                                quota_id=slot.quotas["A"],
                            )
                        )
                batches.append(batch)
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = [
                a for result in pool.map(lambda b: persist_batch(acme.tenant, b), batches) for a in result
            ]
        assert _codes(answers) == ["booked"] * 96
        # Every batch went through whole: none was refused (a deadlock) and redone one by one.
        assert not [r for r in caplog.records if "batch of" in r.getMessage()]
        with schema_context(acme.schema):
            assert sorted(
                SlotQuota.objects.filter(slot__seminar=seminar).values_list("taken", flat=True)
            ) == [32, 32, 32]
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            seminar.delete()
        seminar_state_forget()
        connection.set_schema_to_public()

